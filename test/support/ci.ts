/** Whether the suite runs under CI: `CI` set, and not `false` or `0` (a developer machine).
 * Under CI nothing the suite needs may be missing: what would be a visible skip on a
 * developer's machine fails the run instead, saying how to fix it. */
export const underCi = !!process.env.CI && !['false', '0'].includes(process.env.CI.toLowerCase());
