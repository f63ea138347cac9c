#include "client/tabs/help_view.h"

#include <string_view>
#include <utility>

namespace rustnet::client {

std::vector<Line> HelpView::Lines(const std::vector<HelpSection>& sections) const {
  std::vector<Line> lines;
  for (const HelpSection& section : sections) {
    lines.push_back({{{section.title, Style::kHeading}}});
    for (const KeyHelpItem& k : section.keys) {
      lines.push_back({{{Cat("  ", FitEnd(k.keys, 20, glyphs_), " "), Style::kAccent},
                        {k.what, Style::kNormal}}});
    }
    lines.push_back({});
  }
  lines.push_back({{{"Filter (/): terms that must all match", Style::kHeading}}});
  const char* const kFilterHelp[] = {
      "  word               anywhere: protocol, addresses, state, service, names...",
      "  proto:tcp|udp|icmp|icmpv6|arp   ip:4|6   dir:in|out",
      "  port:443  port:8000-8999  lport:  rport:     addr:10.0.0.0/8  laddr:  raddr:",
      "  state:established (a prefix is enough: state:fin)   service:https",
      "  app:tls  sni:TEXT  host:TEXT  process:TEXT  pid:N  user:TEXT  iface:eth0",
      "  country:de (or country:germany, country:private)  asn:3320  org:TEXT (GeoIP)",
      "  pod:TEXT  namespace:TEXT (ns:)  container:NAME-or-ID (Kubernetes, containers)",
      "  -term or !term negates; \"a b\" quotes spaces.  Example: proto:tcp -port:22",
  };
  for (const char* text : kFilterHelp) lines.push_back({{{text, Style::kNormal}}});
  lines.push_back({});
  lines.push_back({{{"Process column", Style::kHeading}}});
  const std::pair<std::string, std::string_view> kProcessHelp[] = {
      {"name (pid)", "the owner of the local socket"},
      {Cat("name (pid) ", glyphs_.Exited()), "the same, since exited"},
      {"user NAME", "only the socket's owner is known, not its process"},
      {"peer name (pid)", "no local owner known: the remote end's (a socket on this host too)"},
  };
  for (const auto& [shown, what] : kProcessHelp) {
    lines.push_back({{{Cat("  ", FitEnd(shown, 20, glyphs_), what), Style::kNormal}}});
  }
  lines.push_back({});
  lines.push_back(
      {{{"Columns drop from the right by priority when the terminal is narrow; "
         "Details shows every field.",
         Style::kDim}}});
  return lines;
}

}  // namespace rustnet::client
