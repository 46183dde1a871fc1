/**
 * Every replay patch of the conversation workflow, in one place. A patch lets changed workflow code replay the
 * histories recorded before the change: `patched(id)` is false while such a history replays, and true (with a
 * marker written to history) in runs that start after it.
 *
 * For each one: its id, as recorded in histories, which never changes; what it guards; `pinnedBy`, the fixtures in
 * test/replay/histories recorded before it on a path that reaches it, so that replaying them proves the old path
 * still replays (empty where no fixture reaches it: `unpinned` says why); `since`, the commit that added it.
 *
 * Removing a patch. Every conversation recorded before `since` must have ended, or continued as new, since a new
 * run records the marker. Check with `vigil list --query "StartTime < '<since date>' AND ExecutionStatus =
 * 'Running'"`, or wait for your namespace's retention. Then call `deprecatePatch(id)` for a release in place of
 * `patched`. Then delete the old branch, this entry, and the fixtures that only pin it.
 * test/replay/patches.test.ts keeps this list, the code and the fixtures in step.
 */
export interface PatchEntry {
  readonly id: string;
  readonly guards: string;
  readonly since: string;
  readonly pinnedBy: readonly string[];
  /** Why no fixture replays the path from before the patch. */
  readonly unpinned?: string;
}

const NO_LONG_RUN =
  'the fixtures recorded before it are short runs, which never reach the run-length check; runs before it never continued as new';

export const PATCHES = {
  visibility: {
    id: 'vigil-visibility-1',
    guards:
      'the search attributes (VigilAgent, VigilStatus, VigilTokensUsed, VigilLastActivity) upserted as a conversation goes',
    since: '56a7029',
    pinnedBy: [
      'before-visibility-approval',
      'before-visibility-cancelled-turn',
      'before-visibility-error-reply-and-end',
      'before-visibility-multi-turn',
      'before-visibility-tool-call',
    ],
  },
  cost: {
    id: 'vigil-cost-1',
    guards: 'the VigilCostMicros search attribute among them',
    since: '52006c4',
    pinnedBy: ['before-memory-approval', 'before-memory-multi-turn', 'before-memory-tool-call'],
  },
  visibilityChangesOnly: {
    id: 'vigil-visibility-changes-only-1',
    guards: 'upserting only the search attributes that changed, not all of them every time',
    since: 'f6bcde1',
    pinnedBy: [
      'before-stored-answers-multi-turn',
      'before-stored-answers-tool-call',
      'real-server-multi-turn',
      'real-server-continue-as-new',
    ],
  },
  memory: {
    id: 'vigil-memory-1',
    guards: 'short-term memory: the model sees the context window (with a rolling summary), not the whole transcript',
    since: '52006c4',
    pinnedBy: ['before-visibility-multi-turn', 'before-visibility-tool-call'],
  },
  agentFromModel: {
    id: 'vigil-agent-from-model-1',
    guards: "the agent's definition cached from model answers instead of loaded (local activity) on every turn",
    since: '24bb1c6',
    pinnedBy: ['before-visibility-multi-turn'],
  },
  eventsGrace: {
    id: 'vigil-events-grace-1',
    guards: 'a last wait before the run ends, so that watchers read the final events',
    since: 'b5d3e0f',
    pinnedBy: ['before-memory-error-reply-and-end', 'before-visibility-error-reply-and-end'],
  },
  continueAsNew: {
    id: 'vigil-continue-as-new-1',
    guards: 'continuing as new when a long run is idle',
    since: '52006c4',
    pinnedBy: [],
    unpinned: NO_LONG_RUN,
  },
  continueAsNewBusy: {
    id: 'vigil-continue-as-new-busy-1',
    guards: 'continuing as new when a long run has queued messages, handing them to the next run',
    since: 'c2eca7f',
    pinnedBy: [],
    unpinned: NO_LONG_RUN,
  },
  continueAsNewBytes: {
    id: 'vigil-continue-as-new-bytes-1',
    guards: "a run counted long by its history's size, not only its length",
    since: 'a6e4785',
    pinnedBy: [],
    unpinned: NO_LONG_RUN,
  },
  continueAsNewSignals: {
    id: 'vigil-continue-as-new-signals-1',
    guards: 'a run counted long by the signals it took',
    since: '51e66f7',
    pinnedBy: [],
    unpinned: NO_LONG_RUN,
  },
  continueAsNewIdle: {
    id: 'vigil-continue-as-new-idle-1',
    guards:
      'an idle run that grows long without a turn (updates or signals that start none) continuing as new at once, not at the next turn boundary',
    since: '0c9137d',
    pinnedBy: [],
    unpinned: NO_LONG_RUN,
  },
  postGrammar: {
    id: 'vigil-post-grammar-1',
    guards:
      "a `message` signal outside the protocol's grammar (InboundMessage), or with more than one argument, dropped as `send` refuses it, instead of admitted under the recorded grammar",
    since: '0c9137d',
    pinnedBy: [],
    unpinned: 'no fixture signals a message outside the grammar',
  },
  olderIds: {
    id: 'vigil-older-ids-1',
    guards: 'a message id that left the dedupe window refused, not answered as new',
    since: 'd5d2d1f',
    pinnedBy: [],
    unpinned: 'no fixture sends a message id after 10,000 newer ones',
  },
  deliverErrorReplies: {
    id: 'vigil-deliver-error-replies-1',
    guards: "an error reply delivered to the message's channel too",
    since: '51e66f7',
    pinnedBy: [],
    unpinned: 'no fixture has a turn that fails on a message with a channel',
  },
  turnStopsNearRunLimits: {
    id: 'vigil-turn-stops-near-run-limits-1',
    guards: "a turn stopped with an error reply when the run nears Temporal's history limits",
    since: '51e66f7',
    pinnedBy: [],
    unpinned: "no fixture comes near Temporal's history limits",
  },
  toolTimeoutToModel: {
    id: 'vigil-tool-timeout-to-model-1',
    guards:
      'a tool call whose every attempt timed out (a hung tool, or workers that died running it) given to the model as a failed result, instead of ending the turn with an error reply',
    since: 'd25209b',
    pinnedBy: [],
    unpinned: 'no fixture has a tool call whose every attempt timed out',
  },
  cutShort: {
    id: 'vigil-cut-short-1',
    guards:
      "the user told, in a notice and the reply's `cut`, of an answer the model cut at its output limit (finish_reason `length`) and of a message cut to fit the context window",
    since: '5368dd3',
    pinnedBy: [],
    unpinned: 'no fixture has an answer cut at its output limit or a message longer than the context window',
  },
  onBusy: {
    id: 'vigil-on-busy-1',
    guards:
      "an agent's `onBusy` policy in the workflow's handlers: a post that comes while a turn runs or messages wait dropped and refused on its channel (`reject`), or a new message cancelling the turn in flight (`interrupt`); the send validator's refusal needs none",
    since: 'c14707a',
    pinnedBy: [],
    unpinned:
      'asked only for an agent whose spec has `onBusy`, which no spec recorded before it has: every fixture replays the path from before it',
  },
} as const satisfies Record<string, PatchEntry>;
