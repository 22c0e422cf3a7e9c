export { EngineModel } from './engine/engine.js';
export type { EngineOptions } from './engine/engine.js';
export { BlockPool } from './engine/block-pool.js';
export {
  LLAMA31_8B_H100,
  kvBytesPerToken,
  perturbedHardware,
  rooflineLatency,
} from './engine/latency.js';
export type { HardwareModel, LatencyModel, StepShape } from './engine/latency.js';
export type {
  EngineKvEvent,
  EngineMetrics,
  EngineRequest,
  FinishedRequest,
  GeneratedTokens,
  StepResult,
} from './engine/types.js';
export { runSim, SIM_BLOCK_SIZE, toCanonical } from './sim/run-sim.js';
export type { SimOptions, SimRequestRecord, SimResult } from './sim/run-sim.js';
export { runSimCli, SIM_USAGE } from './sim/cli.js';
export { readMooncake, TraceFormatError, MOONCAKE_BLOCK_TOKENS } from './workload/mooncake.js';
export { readAzure } from './workload/azure.js';
export { multiTurn, sharedPrefix } from './workload/synthetic.js';
export type { MultiTurnOptions, SharedPrefixOptions } from './workload/synthetic.js';
export type { SessionTurn, TraceRequest, Workload } from './workload/types.js';
export { ALL_POLICIES, runCompare } from './compare/run-compare.js';
export type { CompareOptions, CompareResult, CompareWorkload } from './compare/run-compare.js';
export { COMPARE_USAGE, runCompareCli } from './compare/cli.js';
export { MULTI_TURN, SHARED_PREFIX } from './workload/presets.js';
export { startSimFleet } from './serve/fleet.js';
export type { SimFleet, SimFleetOptions, SimFleetPod } from './serve/fleet.js';
export { simServeCli, SIM_SERVE_USAGE } from './serve/cli.js';
export { startSimPod } from './serve/sim-pod.js';
export type { SimPod, SimPodOptions } from './serve/sim-pod.js';
export { shippedTokenizerDir } from './serve/tokenization.js';
export type { ShippedTokenizer } from './serve/tokenization.js';
export { ZmqEventPublisher } from './serve/zmq-event-publisher.js';
export { KvTap, replayFrom, scrapeMetrics } from './serve/test-clients.js';
