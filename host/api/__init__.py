"""The timecraft host API, served by the builtin runtime to its guest.

Each guest gets its own API (Connect protocol, JSON over HTTP/1.1), which
listens on no address: the socket layer turns the guest's connections to
127.0.0.1:7463, timecraft's API address, into socket pairs with it (see
VirtualNetwork.api_serve), so nothing but the guest reaches it. The guest sees only its
own view: its process id, the processes it spawned, the tasks it submitted.

Spawned processes and task workers are modules run by child hosts
(`python -m host run`), each with its own loopback address, 127.x.y.z chosen
at random outside 127.0.0.0/24 so that concurrent runs rarely collide: its
en0 address in its virtual network (host/virtual_network.py), where its
listeners are reached from the host and from other guests. A child inherits this guest's open grants and the
module this host opened (never paths to resolve again), its environment
(the module spec's env is added on top, so a python.wasm child finds its
stdlib and packages), its API limits and the process slots of the whole tree.
Children stop with the guest: close() kills them, and should this host die
without closing, each child notices that its lifeline pipe (see
exit_with_parent) has no writer left.

The modules, each depending only on those listed before it:
  errors     ApiError and TaskFailure
  messages   reading and validating request messages
  children   child hosts: their modules, addresses, lifelines and process slots
  tasks      the task board: every task of the guest and its state
  methods    the API's methods, independent of the transport
  transport  HTTP/1.1 on top of the methods
"""

from host.api.children import exit_with_parent
from host.api.methods import VERSION
from host.api.transport import SERVICE_PATH, ApiServer, start_api

__all__ = ["SERVICE_PATH", "VERSION", "ApiServer", "exit_with_parent", "start_api"]
