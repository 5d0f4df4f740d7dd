import { startTestHub } from '@herald/testkit';
import { runBackendContract } from './backend-contract.js';

runBackendContract('memory engine', (options) => startTestHub(options));
