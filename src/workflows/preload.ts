/**
 * Loaded once per worker thread and shared by every conversation (the bundler's `preloadModules`), instead of
 * once per workflow: zod is large, and building it for each conversation cost about 4 ms of every new or
 * replayed conversation and most of each cached one's memory. zod keeps no per-workflow state.
 *
 * It is used once here on purpose: the SDK freezes preloaded modules after loading them, and zod completes
 * its lazy internal setup on first use.
 */
import { z } from 'zod';

z.object({ warm: z.string() }).safeParse({ warm: 'up' });
