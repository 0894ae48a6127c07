export function serveWeb(root?: string, port?: number): Promise<{ url: string; close: () => Promise<void> }>;
