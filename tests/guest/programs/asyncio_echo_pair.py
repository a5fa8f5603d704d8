"""An asyncio line echo server and several concurrent clients, all in this one guest.

Usage: asyncio_echo_pair.py. The server listens on 127.0.0.1 (the guest's own
loopback); prints, as JSON, what each connection got back, in connection order.
"""

import asyncio
import json

# The script's folder is first on sys.path, in the guest as anywhere.
from asyncio_echo_client import CONNECTIONS, converse


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = await asyncio.gather(*(converse("127.0.0.1", port, n) for n in range(CONNECTIONS)))
    print(json.dumps(results))


asyncio.run(main())
