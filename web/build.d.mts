export function buildWeb(opts?: { quiet?: boolean }): Promise<unknown>;
