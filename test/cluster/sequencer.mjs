// The cluster tier's files share one cluster and run one at a time, in path order, so a run is
// repeatable: 01-install first (the fresh cluster), then the seed's examples, then what
// disturbs the cluster (deletions, restarts, rollouts).
import sequencerModule from '@jest/test-sequencer';

const Sequencer = sequencerModule.default ?? sequencerModule;

export default class PathOrder extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}
