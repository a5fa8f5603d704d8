"""An asyncio line echo server and several concurrent clients, all in this one guest.

Usage: asyncio_echo_pair.py. The server listens on 127.0.0.1 (the guest's own
loopback); prints, as JSON, what each connection got back, in connection order.
"""

import asyncio
import json

CONNECTIONS = 3
LINES_PER_CONNECTION = 3
TIMEOUT_SECONDS = 10


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def converse(port: int, number: int) -> list[str]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                            TIMEOUT_SECONDS)
    echoed = []
    for line in range(LINES_PER_CONNECTION):
        writer.write(f"connection {number} line {line}\n".encode())
        await writer.drain()
        echoed.append((await asyncio.wait_for(reader.readline(), TIMEOUT_SECONDS)).decode())
    writer.close()
    await writer.wait_closed()
    return echoed


async def main() -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = await asyncio.gather(*(converse(port, n) for n in range(CONNECTIONS)))
    print(json.dumps(results))


asyncio.run(main())
