// Text and attribute values for XML and SVG documents.
#pragma once

#include <string>
#include <string_view>

namespace flare {

// `text` with & < > " ' as entities: safe in element content and in an
// attribute value in either kind of quotes.
std::string XmlEscape(std::string_view text);

}  // namespace flare
