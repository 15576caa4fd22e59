import { createHash, createHmac } from 'node:crypto';
import { requestTimeoutMs } from '../util/clients.js';

/*
 * One signed S3 GET (Signature Version 4, docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html)
 * over fetch: all the predict function asks of S3. The AWS SDK's S3 client is most of what a
 * predict bundle would load (its module load was ~all of 230–330 ms here), and the cold start is
 * the bundle. test/serve/s3-get.test.ts holds the signature to the SDK's own signer.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding of one path segment, as S3 canonicalises it (each segment once, `/` kept). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** The Authorization header for a request whose `headers` (lower-case names) are all signed. */
export function authorization(request: { method: string; path: string; query?: string; headers: Record<string, string>; payloadHash: string }, credentials: AwsCredentials, region: string, service: string, amzDate: string): string {
  const names = Object.keys(request.headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${request.headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [request.method, request.path, request.query ?? '', canonicalHeaders, signedHeaders, request.payloadHash].join('\n');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export interface S3Getter {
  /** The object's body as text; undefined when there is no such key. */
  get(bucket: string, key: string): Promise<string | undefined>;
}

/**
 * GETs from S3 in `region` (virtual-hosted style), or from an emulator at `endpoint` (path style),
 * with the function's credentials (Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN) or an emulator's.
 */
export function createS3Getter(options: { region?: string; endpoint?: string; credentials?: AwsCredentials; env?: NodeJS.ProcessEnv } = {}): S3Getter {
  const env = options.env ?? process.env;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const credentials =
    options.credentials ??
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : options.endpoint
        ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
        : undefined);
  const timeoutMs = requestTimeoutMs(env);
  return {
    async get(bucket, key) {
      if (!credentials) throw new Error('no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to read S3 with');
      const base = options.endpoint ? new URL(options.endpoint) : new URL(`https://${bucket}.s3.${region}.amazonaws.com`);
      const path = options.endpoint ? `${base.pathname.replace(/\/$/, '')}/${encodeKey(bucket)}/${encodeKey(key)}` : `/${encodeKey(key)}`;
      const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
      const headers: Record<string, string> = { host: base.host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': amzDate };
      if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
      const auth = authorization({ method: 'GET', path, headers, payloadHash: EMPTY_SHA256 }, credentials, region, 's3', amzDate);
      const { host: _host, ...sent } = headers;
      // Three attempts at most on a network failure or a 5xx, as the SDK clients here are set up.
      for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
          response = await fetch(`${base.protocol}//${base.host}${path}`, { headers: { ...sent, authorization: auth }, signal: AbortSignal.timeout(timeoutMs) });
        } catch (error) {
          if (attempt < 3) continue;
          throw new Error(`s3://${bucket}/${key}: ${(error as Error).message}`, { cause: error });
        }
        const text = await response.text();
        if (response.ok) return text;
        if (response.status === 404 && /<Code>NoSuchKey<\/Code>/.test(text)) return undefined;
        if (response.status >= 500 && attempt < 3) continue;
        const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
        throw new Error(`s3://${bucket}/${key}: ${code}`);
      }
    },
  };
}
