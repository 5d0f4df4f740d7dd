// The image's HEALTHCHECK: exit 0 when this container's hub answers GET /livez with 200 within 2 s,
// else 1. It reads the port as `herald start` does from the environment (HERALD_PORT, then PORT,
// then 3000); a port given by flag or config file inside the container is not seen here.
const port = process.env.HERALD_PORT || process.env.PORT || '3000';
try {
  const res = await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
