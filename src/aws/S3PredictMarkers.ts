import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { markerText, markerUri, type SuccessMarker } from '../domain/predictMarker.js';
import type { PredictMarkers } from '../ports/PredictMarkers.js';
import { parseS3Uri } from '../util/s3uri.js';
import { log } from './messages.js';

/** A predict job's `_SUCCESS` as an S3 object in its folder (src/ports/PredictMarkers.ts). */
export class S3PredictMarkers implements PredictMarkers {
  constructor(private readonly s3: Pick<S3Client, 'send'>) {}

  async write(marker: SuccessMarker): Promise<void> {
    const { bucket, key } = markerLocation(marker.out);
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: markerText(marker), ContentType: 'application/json' }));
    log('info', 'marker-written', { jobId: marker.jobId, marker: `s3://${bucket}/${key}`, parts: marker.parts.length, rows: marker.rows });
  }

  async remove(out: string): Promise<void> {
    const { bucket, key } = markerLocation(out);
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    log('warn', 'marker-removed', { marker: `s3://${bucket}/${key}` });
  }
}

function markerLocation(out: string): { bucket: string; key: string } {
  return parseS3Uri(markerUri(out));
}
