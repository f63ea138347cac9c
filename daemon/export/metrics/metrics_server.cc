// Threads: see metrics_server.h.
#include "daemon/export/metrics/metrics_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr std::string_view kIndex =
    "<html><head><title>rustnetd</title></head><body><h1>rustnetd</h1>"
    "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/,
                  size_t* /*upload_data_size*/, void** /*con_cls*/) {
  auto* server = static_cast<MetricsServer*>(cls);
  return server->Answer(connection, url == nullptr ? "" : url, method == nullptr ? "" : method)
             ? MHD_YES
             : MHD_NO;
}

void Notify(void* cls, MHD_Connection* /*connection*/, void** /*socket_context*/,
            MHD_ConnectionNotificationCode toe) {
  static_cast<MetricsServer*>(cls)->Connected(toe == MHD_CONNECTION_NOTIFY_STARTED);
}

// HEAD gets the same response as GET (so Content-Length is the length a
// GET would get, RFC 9110 9.3.2): libmicrohttpd itself leaves the body out
// for a HEAD request.
bool Queue(MHD_Connection* connection, unsigned status, std::string_view body,
           std::string_view content_type) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return false;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          std::string(content_type).c_str());
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  }
  const MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r == MHD_YES;
}

// HOST:PORT, HOST an IPv4 or [IPv6] literal or "localhost".
absl::StatusOr<sockaddr_storage> ParseListen(const std::string& listen, socklen_t* len) {
  const size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen: expected HOST:PORT (127.0.0.1:9876, [::1]:9876), got \"", listen,
        "\""));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = host == "localhost" ? AI_NUMERICSERV : (AI_NUMERICHOST | AI_NUMERICSERV);
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (host.empty() || getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen: \"", host,
        "\" is not an IP address; give a numeric address such as 127.0.0.1 or [::1] "
        "(0.0.0.0 for every interface)"));
  }
  sockaddr_storage out{};
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  *len = found->ai_addrlen;
  freeaddrinfo(found);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(MetricsServerOptions options) {
  socklen_t len = 0;
  auto addr = ParseListen(options.listen, &len);
  if (!addr.ok()) return addr.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(options)));
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
  if (addr->ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_SOCK_ADDR, 0, &*addr},
      {MHD_OPTION_CONNECTION_LIMIT, kConnectionLimit, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, kPerIpLimit, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, kTimeoutSeconds, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kMemoryLimit), nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Notify), server.get()},
      {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, nullptr},
  };
  const WebConfig& web = server->options_.web;
  if (!web.cert_pem.empty()) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      return absl::FailedPreconditionError(
          "--metrics-web-config: this libmicrohttpd was built without TLS; install Debian's "
          "libmicrohttpd12 (built with GnuTLS) or drop tls_server_config");
    }
    flags |= MHD_USE_TLS;
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(web.key_pem.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(web.cert_pem.c_str())});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  server->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &Handle, server.get(),
                                     MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "--metrics-listen: cannot listen on ", server->options_.listen,
        web.cert_pem.empty() ? "" : " with the web configuration's certificate and key",
        " (address in use, not one of this machine's",
        web.cert_pem.empty() ? "" : ", or a certificate and key that do not load or match",
        "); choose another address or port",
        web.cert_pem.empty() ? "" : ", or check the PEM files"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  if (info != nullptr) server->port_ = info->port;
  return server;
}

MetricsServer::~MetricsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

MetricsServer::Stats MetricsServer::stats() const {
  Stats s;
  s.scrapes = scrapes_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.connections = connections_.load(std::memory_order_relaxed);
  s.open = open_.load(std::memory_order_relaxed);
  return s;
}

void MetricsServer::Connected(bool opened) {
  if (opened) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    open_.fetch_add(1, std::memory_order_relaxed);
  } else {
    open_.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool MetricsServer::Authorized(MHD_Connection* connection) const {
  const auto& users = options_.web.users;
  if (users.empty()) return true;
  char* password = nullptr;
  char* user = MHD_basic_auth_get_username_password(connection, &password);
  bool ok = false;
  if (user != nullptr && password != nullptr) {
    auto it = users.find(user);
    ok = it != users.end() && CheckPassword(it->second, password);
  }
  if (user != nullptr) MHD_free(user);
  if (password != nullptr) {
    std::memset(password, 0, std::strlen(password));
    MHD_free(password);
  }
  return ok;
}

bool MetricsServer::Answer(MHD_Connection* connection, std::string_view url,
                           std::string_view method) {
  const bool head = method == MHD_HTTP_METHOD_HEAD;
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  if (!Authorized(connection)) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    constexpr std::string_view kDenied = "unauthorized: give the user and password of the "
                                         "web configuration's basic_auth_users\n";
    MHD_Response* response = MHD_create_response_from_buffer(
        kDenied.size(), const_cast<char*>(kDenied.data()), MHD_RESPMEM_PERSISTENT);
    if (response == nullptr) return false;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    const MHD_Result r = MHD_queue_basic_auth_fail_response(connection, "rustnetd", response);
    MHD_destroy_response(response);
    return r == MHD_YES;
  }
  if (method != MHD_HTTP_METHOD_GET && !head) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Queue(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD are served\n", kText);
  }
  if (url == "/") return Queue(connection, MHD_HTTP_OK, kIndex, "text/html; charset=utf-8");
  if (url != "/metrics") {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return Queue(connection, MHD_HTTP_NOT_FOUND, "not found; metrics are at /metrics\n", kText);
  }
  const char* accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_ACCEPT);
  const ExpositionFormat format = FormatForAccept(accept == nullptr ? "" : accept);
  const std::string body = options_.render(format);
  scrapes_.fetch_add(1, std::memory_order_relaxed);
  return Queue(connection, MHD_HTTP_OK, body, ContentTypeOf(format));
}

}  // namespace rustnet
