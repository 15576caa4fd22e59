#!/usr/bin/env node
// The AWS SDK warns on every run that it will drop Node 20; the versions pinned here support it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const entry = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  // A clone that was never built has no dist/: say what to run rather than print a stack.
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(entry.pathname)) {
    process.stderr.write('bspml: not built yet: run npm run build first (dist/ is missing)\n');
    process.exit(1);
  }
  throw error;
}
await cli.main();
