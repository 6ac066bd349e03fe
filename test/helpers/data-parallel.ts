/**
 * Data-parallel vs one worker, relative loss difference allowed at steps 1, 2, 3, 4. Step 1 runs on
 * the same weights: only the order of float sums differs. From step 2 on, Adam's first updates are
 * lr·sign(g): a parameter whose gradient is within float noise of zero can move a full lr either way,
 * and the trajectories drift apart slowly (4e-5 at step 2, 1.3e-3 at step 4 seen). A lost shard
 * weighting shows at step 2 as 5e-3.
 */
export const DP_TOLERANCE = [1e-6, 5e-4, 1e-2, 1e-2];
