import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';

/*
 * A Lambda function URL's request event (payload format 2.0, with IAM auth), as AWS documents it
 * (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads): what the predict
 * function receives, and what Powertools' router reads.
 */
export function functionUrlEvent(options: { method?: string; path?: string; query?: Record<string, string>; body?: string; contentType?: string; base64?: boolean }): APIGatewayProxyEventV2WithIAMAuthorizer {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/predict';
  const query = options.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const host = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws';
  const body = options.body === undefined ? undefined : options.base64 ? Buffer.from(options.body).toString('base64') : options.body;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    ...(rawQueryString ? { queryStringParameters: query } : {}),
    headers: {
      host,
      'x-forwarded-proto': 'https',
      'user-agent': 'test',
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdefghijklmnopqrstuvwxyz012345',
      authorizer: {
        iam: {
          accessKey: 'AKIAEXAMPLE',
          accountId: '123456789012',
          callerId: 'AIDAEXAMPLE',
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: 'arn:aws:iam::123456789012:user/caller',
          userId: 'AIDAEXAMPLE',
        },
      },
      domainName: host,
      domainPrefix: 'abcdefghijklmnopqrstuvwxyz012345',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId: '8a5b0c8e-0000-4000-8000-000000000000',
      routeKey: '$default',
      stage: '$default',
      time: '06/Dec/2026:01:40:00 +0000',
      timeEpoch: 1796521200000,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: options.base64 ?? false,
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}
