#pragma once
// The status page: one self-contained HTML document (its script and style inline, nothing
// loaded from elsewhere), compiled in from status_page.html.

#include <string_view>

namespace meshbot::http {

std::string_view status_page_html();

}  // namespace meshbot::http
