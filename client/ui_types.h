// What the terminal layer and the views exchange: keys (and mouse events)
// in, styled lines out. No ncurses here.
//
// Threads: plain values, used from the UI thread.
#ifndef RUSTNET_CLIENT_UI_TYPES_H_
#define RUSTNET_CLIENT_UI_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rustnet::client {

// Keys, as the terminal layer decodes them.
enum class KeyCode {
  kNone,
  kChar,  // `ch` holds the character (a Unicode code point).
  kUp,
  kDown,
  kLeft,
  kRight,
  kPageUp,
  kPageDown,
  kHome,
  kEnd,
  kEnter,
  kEscape,
  kTab,
  kBackTab,
  kBackspace,
  kDelete,
  kInterrupt,  // Ctrl+C
  kSuspend,    // Ctrl+Z
  kRedraw,     // Ctrl+L
  kLineStart,  // Ctrl+A
  kLineEnd,    // Ctrl+E
  kKillLine,   // Ctrl+U
  kKillWord,   // Ctrl+W
  kMouse,      // `mouse`, `x`, `y` say what and where.
};

enum class MouseAction : uint8_t {
  kNone,
  kClick,  // Left button pressed (a second one soon after at the same row: a double click).
  kWheelUp,
  kWheelDown,
};

struct Key {
  KeyCode code = KeyCode::kNone;
  char32_t ch = 0;
  MouseAction mouse = MouseAction::kNone;
  int x = 0;  // Mouse: the cell's column and row, from 0.
  int y = 0;
  static Key Char(char32_t c) { return {KeyCode::kChar, c}; }
  static Key Of(KeyCode code) { return {code, 0}; }
  static Key Mouse(MouseAction action, int x, int y) {
    return {KeyCode::kMouse, 0, action, x, y};
  }
};

// How a piece of text is drawn; the terminal maps these to colours (or, with
// NO_COLOR, to bold / reverse / dim).
enum class Style {
  kNormal,
  kTitle,  // The top bar.
  kTabActive,
  kHeading,   // Column headers, section titles.
  kSelected,  // The selected row.
  kDim,
  kGood,    // ESTABLISHED, ACTIVE.
  kWarn,    // Handshakes, one-way traffic, confirmations.
  kBad,     // CLOSED, errors.
  kAccent,  // Non-zero rates, host names.
  kError,   // Filter errors, the cannot-reach screen's title.
};

struct Segment {
  std::string text;  // Sanitized UTF-8, one column per code point.
  Style style = Style::kNormal;
};

// One screen row: segments from the left, then `fill` to the right edge.
struct Line {
  std::vector<Segment> segments;
  Style fill = Style::kNormal;
  std::string Text() const;  // The segments' text, for tests.
};

}  // namespace rustnet::client

#endif  // RUSTNET_CLIENT_UI_TYPES_H_
