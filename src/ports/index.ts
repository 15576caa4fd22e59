export type { Arrival, StateStore } from './StateStore.js';
export type { Fanout } from './Fanout.js';
export type { Completion } from './Completion.js';
export type { DatasetSource } from './DatasetSource.js';
export type { Container, PartialThreads, ShardLoading } from './Container.js';
export type { BackupCheck, DelayedChannel } from './DelayedChannel.js';
export type { ModelFiles } from './ModelFiles.js';
