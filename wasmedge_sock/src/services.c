/*
 * Services: getservbyname and getservbyport from the built-in table of
 * well-known services (services.h). No host call is involved.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <string.h>

#include "services.h"
#include "trace.h"

#define TCP SERVICE_TCP
#define UDP SERVICE_UDP
#define BOTH (SERVICE_TCP | SERVICE_UDP)
#define ALIASES(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * The IANA service names and ports of the common Internet services, with the
 * aliases Unix systems traditionally accept. Ordered by port; where a port
 * has different services on TCP and UDP, the TCP one comes first, so that a
 * lookup by port without a protocol prefers TCP, as glibc's does with a
 * usual /etc/services.
 */
static const service_t services[] = {
    {"tcpmux", NULL, 1, TCP},
    {"echo", NULL, 7, BOTH},
    {"discard", ALIASES("sink", "null"), 9, BOTH},
    {"systat", ALIASES("users"), 11, TCP},
    {"daytime", NULL, 13, BOTH},
    {"netstat", NULL, 15, TCP},
    {"qotd", ALIASES("quote"), 17, BOTH},
    {"chargen", ALIASES("ttytst", "source"), 19, BOTH},
    {"ftp-data", NULL, 20, TCP},
    {"ftp", NULL, 21, TCP},
    {"ssh", NULL, 22, TCP},
    {"telnet", NULL, 23, TCP},
    {"smtp", ALIASES("mail"), 25, TCP},
    {"time", ALIASES("timserver"), 37, BOTH},
    {"whois", ALIASES("nicname"), 43, TCP},
    {"tacacs", NULL, 49, BOTH},
    {"domain", NULL, 53, BOTH},
    {"bootps", NULL, 67, UDP},
    {"bootpc", NULL, 68, UDP},
    {"tftp", NULL, 69, UDP},
    {"gopher", NULL, 70, TCP},
    {"finger", NULL, 79, TCP},
    {"http", ALIASES("www"), 80, BOTH},
    {"kerberos", ALIASES("kerberos5", "krb5", "kerberos-sec"), 88, BOTH},
    {"pop3", ALIASES("pop-3"), 110, TCP},
    {"sunrpc", ALIASES("portmapper"), 111, BOTH},
    {"auth", ALIASES("authentication", "tap", "ident"), 113, TCP},
    {"nntp", ALIASES("readnews", "untp"), 119, TCP},
    {"ntp", NULL, 123, BOTH},
    {"epmap", ALIASES("loc-srv"), 135, BOTH},
    {"netbios-ns", NULL, 137, BOTH},
    {"netbios-dgm", NULL, 138, BOTH},
    {"netbios-ssn", NULL, 139, BOTH},
    {"imap", ALIASES("imap2"), 143, TCP},
    {"snmp", NULL, 161, BOTH},
    {"snmp-trap", ALIASES("snmptrap"), 162, BOTH},
    {"bgp", NULL, 179, TCP},
    {"irc", NULL, 194, TCP},
    {"ldap", NULL, 389, BOTH},
    {"https", NULL, 443, BOTH},
    {"microsoft-ds", NULL, 445, TCP},
    {"submissions", ALIASES("ssmtp", "smtps"), 465, TCP},
    {"isakmp", NULL, 500, UDP},
    {"exec", NULL, 512, TCP},
    {"biff", ALIASES("comsat"), 512, UDP},
    {"login", NULL, 513, TCP},
    {"who", ALIASES("whod"), 513, UDP},
    {"shell", ALIASES("cmd"), 514, TCP},
    {"syslog", NULL, 514, UDP},
    {"printer", ALIASES("spooler"), 515, TCP},
    {"submission", NULL, 587, TCP},
    {"ipp", NULL, 631, TCP},
    {"ldaps", NULL, 636, BOTH},
    {"rsync", NULL, 873, TCP},
    {"ftps-data", NULL, 989, TCP},
    {"ftps", NULL, 990, TCP},
    {"telnets", NULL, 992, TCP},
    {"imaps", NULL, 993, TCP},
    {"pop3s", NULL, 995, TCP},
    {"socks", NULL, 1080, TCP},
    {"openvpn", NULL, 1194, BOTH},
    {"ms-sql-s", NULL, 1433, TCP},
    {"radius", NULL, 1812, UDP},
    {"radius-acct", ALIASES("radacct"), 1813, UDP},
    {"mqtt", NULL, 1883, TCP},
    {"nfs", NULL, 2049, BOTH},
    {"mysql", NULL, 3306, TCP},
    {"ms-wbt-server", NULL, 3389, TCP},
    {"sip", NULL, 5060, BOTH},
    {"sips", ALIASES("sip-tls"), 5061, TCP},
    {"xmpp-client", ALIASES("jabber-client"), 5222, TCP},
    {"xmpp-server", ALIASES("jabber-server"), 5269, TCP},
    {"postgresql", ALIASES("postgres"), 5432, TCP},
    {"amqp", NULL, 5672, TCP},
    {"x11", NULL, 6000, TCP},
    {"redis", NULL, 6379, TCP},
    {"http-alt", ALIASES("webcache"), 8080, TCP},
    {"memcache", NULL, 11211, BOTH},
};

#define N_SERVICES (sizeof(services) / sizeof(services[0]))

static int has_name(const service_t *s, const char *name)
{
    if (strcmp(s->name, name) == 0)
        return 1;
    for (const char *const *alias = s->aliases; alias != NULL && *alias != NULL; alias++) {
        if (strcmp(*alias, name) == 0)
            return 1;
    }
    return 0;
}

const service_t *service_by_name(const char *name, unsigned protocols)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < N_SERVICES; i++) {
        if ((services[i].protocols & protocols) && has_name(&services[i], name))
            return &services[i];
    }
    return NULL;
}

const service_t *service_by_port(uint16_t port, unsigned protocols)
{
    for (size_t i = 0; i < N_SERVICES; i++) {
        if ((services[i].protocols & protocols) && services[i].port == port)
            return &services[i];
    }
    return NULL;
}

unsigned service_protocols_named(const char *proto)
{
    if (proto == NULL)
        return SERVICE_TCP | SERVICE_UDP;
    if (strcmp(proto, "tcp") == 0)
        return SERVICE_TCP;
    if (strcmp(proto, "udp") == 0)
        return SERVICE_UDP;
    return 0;
}

/* Longest alias list in the table, plus its NULL. */
#define MAX_ALIASES 4

/* The result lives in static storage, as POSIX allows for these calls. */
static struct {
    struct servent se;
    char *aliases[MAX_ALIASES + 1];
} result;

/* Fills the static result for a service found for the protocols asked for. */
static struct servent *to_servent(const service_t *s, unsigned protocols)
{
    size_t n = 0;

    if (s == NULL)
        return NULL;
    memset(&result, 0, sizeof(result));
    // The table's strings are never written through these pointers: callers
    // may not modify a servent, whose fields are char * only for history.
    for (const char *const *alias = s->aliases;
         alias != NULL && *alias != NULL && n < MAX_ALIASES; alias++)
        result.aliases[n++] = (char *)*alias;
    result.se.s_name = (char *)s->name;
    result.se.s_aliases = result.aliases;
    result.se.s_port = htons(s->port);
    // Without a protocol asked for, TCP is reported where the service has it.
    result.se.s_proto = (s->protocols & protocols & SERVICE_TCP) ? "tcp" : "udp";
    return &result.se;
}

struct servent *getservbyname(const char *name, const char *proto)
{
    unsigned protocols = service_protocols_named(proto);
    struct servent *se = to_servent(service_by_name(name, protocols), protocols);
    TRACE("getservbyname(\"%s\", \"%s\") = %d\n", name ? name : "(null)",
          proto ? proto : "(null)", se ? ntohs(se->s_port) : -1);
    return se;
}

struct servent *getservbyport(int port, const char *proto)
{
    // The port is in network byte order in the low 16 bits; anything above
    // them is no port at all.
    unsigned protocols = service_protocols_named(proto);
    struct servent *se = NULL;

    if (port >= 0 && port <= 0xffff)
        se = to_servent(service_by_port(ntohs((uint16_t)port), protocols), protocols);
    TRACE("getservbyport(%d, \"%s\") = %s\n", port, proto ? proto : "(null)",
          se ? se->s_name : "(null)");
    return se;
}
