// Threads: see web_config.h.
#include "daemon/export/metrics/web_config.h"

#include <crypt.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace rustnet {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-web-config: cannot read ", what, " ",
                                                   path, ": ", std::strerror(errno),
                                                   "; check the path and its permissions"));
  }
  std::string out;
  char buf[8192];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof(buf))) > 0 && out.size() <= kMaxFileBytes) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (out.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-web-config: ", what, " ", path,
                                                   " is over 1 MiB; is it the right file?"));
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A value: quoted ('...' or "..."), or bare up to a " #" comment.
std::string Value(std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return std::string(v.substr(1, v.size() - 2));
  }
  const size_t comment = v.find(" #");
  if (comment != std::string_view::npos) v = Trim(v.substr(0, comment));
  return std::string(v);
}

bool IsBcrypt(const std::string& hash) {
  return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") ||
                               hash.starts_with("$2y$"));
}

}  // namespace

absl::StatusOr<WebConfig> ParseWebConfig(std::string_view text, const std::string& path) {
  std::string cert_file;
  std::string key_file;
  WebConfig out;
  std::string section;
  int number = 0;
  auto error = [&path, &number](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-web-config: ", path, " line ", number, ": ", why));
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#' || trimmed == "---") continue;
    const size_t colon = trimmed.find(':');
    if (colon == std::string_view::npos) return error("expected \"name: value\"");
    const std::string key = Value(trimmed.substr(0, colon));
    const std::string value = Value(trimmed.substr(colon + 1));
    const bool indented = line.front() == ' ' || line.front() == '\t';
    if (!indented) {
      if (key != "tls_server_config" && key != "basic_auth_users") {
        return error(absl::StrCat("unknown section \"", key,
                                  "\" (rustnetd reads tls_server_config and basic_auth_users)"));
      }
      if (!value.empty() && value != "{}") return error("a section holds indented lines");
      section = key;
      continue;
    }
    if (section == "tls_server_config") {
      if (key == "cert_file") {
        cert_file = value;
      } else if (key == "key_file") {
        key_file = value;
      } else {
        return error(absl::StrCat("unknown TLS setting \"", key,
                                  "\" (rustnetd reads cert_file and key_file)"));
      }
    } else if (section == "basic_auth_users") {
      if (key.empty()) return error("a user needs a name");
      if (!IsBcrypt(value)) {
        return error(absl::StrCat("the password of \"", key,
                                  "\" is not a bcrypt hash; make one with htpasswd -nBC 10 \"\" "
                                  "(apache2-utils) and paste what follows the colon"));
      }
      out.users[key] = value;
    } else {
      return error("indented line outside a section");
    }
  }
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics-web-config: ", path,
                                                   ": tls_server_config needs both cert_file "
                                                   "and key_file"));
  }
  if (!cert_file.empty()) {
    const std::string dir = path.rfind('/') == std::string::npos
                                ? std::string(".")
                                : path.substr(0, path.rfind('/'));
    auto resolve = [&dir](const std::string& f) {
      return f.front() == '/' ? f : absl::StrCat(dir, "/", f);
    };
    auto cert = ReadFile(resolve(cert_file), "certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(resolve(key_file), "private key");
    if (!key.ok()) return key.status();
    out.cert_pem = std::move(*cert);
    out.key_pem = std::move(*key);
  }
  return out;
}

absl::StatusOr<WebConfig> LoadWebConfig(const std::string& path) {
  auto text = ReadFile(path, "file");
  if (!text.ok()) return text.status();
  return ParseWebConfig(*text, path);
}

bool CheckPassword(const std::string& hash, const std::string& password) {
  if (!IsBcrypt(hash) || password.size() > 72) return false;  // bcrypt reads 72 bytes.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (out == nullptr || std::strlen(out) != hash.size()) return false;
  // Constant time over the whole hash.
  unsigned diff = 0;
  for (size_t i = 0; i < hash.size(); ++i) {
    diff |= static_cast<unsigned>(static_cast<unsigned char>(out[i]) ^
                                  static_cast<unsigned char>(hash[i]));
  }
  return diff == 0;
}

}  // namespace rustnet
