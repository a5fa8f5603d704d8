/*
 * Smoke test for libwasmedge_sock: looks up services in the built-in table,
 * resolves "localhost", then does a TCP and a UDP round trip over IPv4
 * loopback within one process. Prints each step and
 * exits non-zero if any failed. Needs a host with the WasmEdge v2 socket
 * functions; what it checks holds under timecraft (whose 127.0.0.1 is the
 * guest's own loopback) as well as under WasmEdge-like hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wasmedge_sock.h>

static int failures;

static int expect(int ok, const char *what)
{
    if (ok) {
        printf("ok   %s\n", what);
    } else {
        printf("FAIL %s: %s\n", what, strerror(errno));
        failures++;
    }
    return ok;
}

static void expect_gai(int err, int wanted, const char *what)
{
    if (err == wanted) {
        printf("ok   %s\n", what);
    } else {
        printf("FAIL %s: got %d (%s), wanted %d\n", what, err, gai_strerror(err), wanted);
        failures++;
    }
}

/* Every result is complete: its family matches its address, and its type
 * and protocol are ones a socket can be opened with. */
static int results_are_complete(const struct addrinfo *res, int *streams, int *dgrams)
{
    *streams = *dgrams = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char host[INET6_ADDRSTRLEN], serv[8];
        int err = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv,
                              sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
        printf("     localhost -> family %d type %d proto %d %s port %s\n",
               ai->ai_family, ai->ai_socktype, ai->ai_protocol,
               err ? gai_strerror(err) : host, err ? "?" : serv);
        if (ai->ai_family != ai->ai_addr->sa_family || strcmp(serv, "80") != 0)
            return 0;
        if (ai->ai_socktype == SOCK_STREAM && ai->ai_protocol == IPPROTO_TCP)
            ++*streams;
        else if (ai->ai_socktype == SOCK_DGRAM && ai->ai_protocol == IPPROTO_UDP)
            ++*dgrams;
        else
            return 0;
    }
    return 1;
}

static void test_getaddrinfo(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int streams, dgrams;
    int err = getaddrinfo("localhost", "80", &hints, &res);
    if (err != 0) {
        printf("FAIL getaddrinfo(localhost): %s\n", gai_strerror(err));
        failures++;
        return;
    }
    expect(results_are_complete(res, &streams, &dgrams) && streams > 0 && dgrams == 0,
           "getaddrinfo(localhost, stream): complete stream results");
    freeaddrinfo(res);

    // No type asked for: every address once per socket type, as on Linux.
    hints.ai_socktype = 0;
    if ((err = getaddrinfo("localhost", "80", &hints, &res)) != 0) {
        printf("FAIL getaddrinfo(localhost, any type): %s\n", gai_strerror(err));
        failures++;
        return;
    }
    expect(results_are_complete(res, &streams, &dgrams) && streams > 0 && streams == dgrams,
           "getaddrinfo(localhost, any type): a stream and a datagram result per address");
    freeaddrinfo(res);

    hints.ai_flags = AI_NUMERICHOST;
    expect_gai(getaddrinfo("localhost", "80", &hints, &res), EAI_NONAME,
               "AI_NUMERICHOST refuses a name");
    hints.ai_flags = AI_NUMERICSERV;
    expect_gai(getaddrinfo("127.0.0.1", "http", &hints, &res), EAI_SERVICE,
               "AI_NUMERICSERV refuses a service name");
    hints.ai_flags = 0;
    expect_gai(getaddrinfo("", "", &hints, &res), EAI_NONAME, "no name and no service");
}

/* Binds fd to 127.0.0.1 on a host-chosen port and returns that address. */
static int bind_loopback(int fd, struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!expect(bind(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0, "bind"))
        return -1;
    if (!expect(getsockname(fd, (struct sockaddr *)addr, &len) == 0 &&
                    addr->sin_port != 0,
                "getsockname"))
        return -1;
    printf("     bound to port %d\n", ntohs(addr->sin_port));
    return 0;
}

static void test_tcp(void)
{
    static const char msg[] = "hello over tcp";
    struct sockaddr_in addr, peer;
    socklen_t peer_len = sizeof(peer);
    char buf[64];
    int one = 1, type = 0, error = -1;
    socklen_t type_len = sizeof(type), error_len = sizeof(error);
    int server = socket(AF_INET, SOCK_STREAM, 0), client = -1, conn = -1;

    if (!expect(server >= 0, "tcp socket"))
        return;
    expect(setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
           "setsockopt SO_REUSEADDR");
    expect(getsockopt(server, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 &&
               type == SOCK_STREAM,
           "getsockopt SO_TYPE");
    if (bind_loopback(server, &addr) < 0 ||
        !expect(listen(server, 4) == 0, "listen"))
        goto out;
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (!expect(client >= 0, "tcp client socket"))
        goto out;
    expect(setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0,
           "setsockopt TCP_NODELAY");
    if (!expect(connect(client, (struct sockaddr *)&addr, sizeof(addr)) == 0,
                "connect"))
        goto out;
    expect(getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &error_len) == 0 &&
               error == 0,
           "getsockopt SO_ERROR");
    conn = accept(server, (struct sockaddr *)&peer, &peer_len);
    if (!expect(conn >= 0, "accept"))
        goto out;
    printf("     peer %s:%d\n", inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf)),
           ntohs(peer.sin_port));
    // Only a hint: succeeds even where the runtime refuses it.
    expect(setsockopt(conn, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0,
           "setsockopt SO_KEEPALIVE");
    // hTLS applies only to connections the host dials, never to one that
    // stays inside the guest; an empty server name is refused by the library.
    expect(setsockopt(client, SOL_TIMECRAFT_HTLS, HTLS_SERVER_NAME, "", 1) < 0 &&
               errno == EINVAL,
           "hTLS refuses an empty server name");
    if (!expect(send(client, msg, sizeof(msg), 0) == sizeof(msg), "send"))
        goto out;
    // A short message comes back whole: the byte count is not clobbered by
    // the host's 4-byte roflags.
    expect(recv(conn, buf, sizeof(buf), 0) == sizeof(msg) &&
               memcmp(buf, msg, sizeof(msg)) == 0,
           "recv matches");
    if (!expect(send(conn, msg, sizeof(msg), 0) == sizeof(msg), "send back"))
        goto out;
    peer_len = sizeof(peer);
    memset(buf, 0, sizeof(buf));
    expect(recvfrom(client, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &peer_len) ==
                   sizeof(msg) &&
               memcmp(buf, msg, sizeof(msg)) == 0 && peer_len == 0,
           "recvfrom on a stream returns the data and no address");
    expect(shutdown(client, SHUT_WR) == 0, "shutdown");
    expect(recv(conn, buf, sizeof(buf), 0) == 0, "recv sees EOF");
out:
    if (conn >= 0)
        close(conn);
    if (client >= 0)
        close(client);
    close(server);
}

/* A non-blocking connect completes (at once or after EINPROGRESS), poll then
 * reports it writable and SO_ERROR, read once, is 0. */
static void test_nonblocking_connect(void)
{
    struct sockaddr_in addr;
    struct pollfd pfd;
    int error = -1, rc;
    socklen_t error_len = sizeof(error);
    int server = socket(AF_INET, SOCK_STREAM, 0), client = -1;

    if (!expect(server >= 0, "nonblocking: server socket"))
        return;
    if (bind_loopback(server, &addr) < 0 || !expect(listen(server, 4) == 0, "listen"))
        goto out;
    client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (!expect(client >= 0, "nonblocking client socket"))
        goto out;
    rc = connect(client, (struct sockaddr *)&addr, sizeof(addr));
    if (!expect(rc == 0 || errno == EINPROGRESS, "nonblocking connect"))
        goto out;
    pfd = (struct pollfd){.fd = client, .events = POLLOUT};
    expect(poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLOUT), "poll reports writable");
    expect(getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &error_len) == 0 &&
               error == 0 && error_len == sizeof(error),
           "SO_ERROR after connect is 0");
out:
    if (client >= 0)
        close(client);
    close(server);
}

static void test_udp(void)
{
    static const char msg[] = "hello over udp";
    struct sockaddr_in a_addr, b_addr, from;
    socklen_t from_len = sizeof(from);
    char buf[64];
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);

    if (!expect(a >= 0 && b >= 0, "udp sockets"))
        goto out;
    if (bind_loopback(a, &a_addr) < 0 || bind_loopback(b, &b_addr) < 0)
        goto out;
    if (!expect(sendto(a, msg, sizeof(msg), 0, (struct sockaddr *)&b_addr,
                       sizeof(b_addr)) == sizeof(msg),
                "sendto"))
        goto out;
    expect(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                    &from_len) == sizeof(msg) &&
               memcmp(buf, msg, sizeof(msg)) == 0,
           "recvfrom matches");
    expect(from.sin_family == AF_INET && from.sin_port == a_addr.sin_port,
           "recvfrom reports the sender");
out:
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
}

/* The built-in services table: no host call, and bad arguments give NULL. */
static void test_services(void)
{
    struct servent *se = getservbyname("http", "tcp");
    expect(se != NULL && ntohs((uint16_t)se->s_port) == 80 && strcmp(se->s_proto, "tcp") == 0,
           "getservbyname(http, tcp) is 80/tcp");
    se = getservbyname("domain", NULL);
    expect(se != NULL && ntohs((uint16_t)se->s_port) == 53 && strcmp(se->s_proto, "tcp") == 0,
           "getservbyname(domain, NULL) prefers tcp");
    se = getservbyname("www", "tcp");
    expect(se != NULL && strcmp(se->s_name, "http") == 0 && se->s_aliases[0] != NULL &&
               strcmp(se->s_aliases[0], "www") == 0 && se->s_aliases[1] == NULL,
           "an alias finds the service, with its aliases");
    se = getservbyport(htons(443), "tcp");
    expect(se != NULL && strcmp(se->s_name, "https") == 0, "getservbyport(443, tcp) is https");
    se = getservbyport(htons(514), "udp");
    expect(se != NULL && strcmp(se->s_name, "syslog") == 0 && strcmp(se->s_proto, "udp") == 0,
           "getservbyport(514, udp) is syslog/udp");
    expect(getservbyname("no-such-service", "tcp") == NULL, "unknown service: NULL");
    expect(getservbyname("tftp", "tcp") == NULL, "service on another protocol: NULL");
    expect(getservbyname("http", "sctp") == NULL, "unknown protocol: NULL");
    expect(getservbyname(NULL, "tcp") == NULL, "NULL name: NULL");
    expect(getservbyport(0x10000, "tcp") == NULL && getservbyport(-1, NULL) == NULL,
           "a port out of range: NULL");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_services();
    test_getaddrinfo();
    test_tcp();
    test_nonblocking_connect();
    test_udp();
    printf("%s (%d failure%s)\n", failures ? "FAILED" : "PASSED", failures,
           failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
