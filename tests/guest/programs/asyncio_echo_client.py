"""Talk to a line echo server over several concurrent asyncio stream connections.

Usage: asyncio_echo_client.py HOST PORT. Prints, as JSON, what each
connection got back, in connection order.
"""

import asyncio
import json
import sys

CONNECTIONS = 3
LINES_PER_CONNECTION = 3
TIMEOUT_SECONDS = 10


async def converse(host: str, port: int, number: int) -> list[str]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                            TIMEOUT_SECONDS)
    echoed = []
    for line in range(LINES_PER_CONNECTION):
        writer.write(f"connection {number} line {line}\n".encode())
        await writer.drain()
        echoed.append((await asyncio.wait_for(reader.readline(), TIMEOUT_SECONDS)).decode())
    writer.close()
    await writer.wait_closed()
    return echoed


async def main(host: str, port: int) -> None:
    results = await asyncio.gather(*(converse(host, port, n) for n in range(CONNECTIONS)))
    print(json.dumps(results))


if __name__ == "__main__":  # asyncio_echo_pair.py imports converse()
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
