#!/usr/bin/env python3
"""scripts/delay-proxy.py LISTEN_PORT TARGET_URL_HOST TARGET_PORT ROUND_TRIP_MS

A TCP proxy on 127.0.0.1:LISTEN_PORT to TARGET_URL_HOST:TARGET_PORT that holds every chunk
for half of ROUND_TRIP_MS in each direction: a network round trip on one machine, for
scripts/bench-sync's "over a network" figures (`tc netem` needs a kernel module these machines
lack). Order and bytes are kept; only time is added. Runs until killed.
"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    """Copy reader to writer, each chunk `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(1 << 16)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
    finally:
        await sender


async def main():
    listen, host, port, round_trip_ms = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    delay = float(round_trip_ms) / 2000

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            pipe(client_reader, server_writer, delay),
            pipe(server_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", int(listen))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
