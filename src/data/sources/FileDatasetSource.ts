import { PartsDatasetSource } from './PartsDatasetSource.js';
import { LocalFiles } from './local.js';

/** Data sets on the local disk: a file, or a directory of parts. */
export class FileDatasetSource extends PartsDatasetSource {
  constructor() {
    super(new LocalFiles());
  }
}
