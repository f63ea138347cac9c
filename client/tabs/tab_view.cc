#include "client/tabs/tab_view.h"

namespace rustnet::client {

std::string_view TabName(Tab tab) {
  switch (tab) {
    case Tab::kOverview: return "Overview";
    case Tab::kDetails: return "Details";
    case Tab::kActivity: return "Activity";
    case Tab::kGraph: return "Graph";
    case Tab::kInterfaces: return "Interfaces";
    case Tab::kHistory: return "History";
    case Tab::kHelp: return "Help";
  }
  return "?";
}

Tab TabAt(int index) {
  const int i = ((index % kTabCount) + kTabCount) % kTabCount;
  return static_cast<Tab>(i);
}

int TabIndex(Tab tab) { return static_cast<int>(tab); }

}  // namespace rustnet::client
