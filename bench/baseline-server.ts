/**
 * Process: the floor of the validation benchmark (SPEC §8). The smallest Express 5 JSON endpoint,
 * started exactly like the real web process (`node --import tsx`, its own process, one core).
 */
import express from 'express';

const app = express();
app.post('/x', express.json(), (_req, res) => {
  res.json({ result: true });
});
const server = app.listen(Number(process.env.PORT ?? 3100), process.env.HOST ?? '127.0.0.1');
server.keepAliveTimeout = 5_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
