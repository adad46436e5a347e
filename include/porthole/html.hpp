// porthole/html.hpp: trusted markup. `html` owns HTML that is safe as it stands (what a template
// renders, or markup the program trusts); `html_view` views it. Templates insert both raw, and
// response::html takes a rendered page as it is.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace porthole {

// HTML that is safe as it stands: what templates render, or markup you trust. Inserted into
// templates raw, so a rendered template used as a value is never escaped twice.
class html {
public:
    html() = default;
    explicit html(std::string trusted) noexcept : text_(std::move(trusted)) {}
    std::string_view view() const noexcept { return text_; }
    std::string const& str() const& noexcept { return text_; }
    std::string str() && noexcept { return std::move(text_); }
    friend bool operator==(html const&, html const&) = default;

private:
    std::string text_;
};

// A non-owning view of trusted markup; inserted raw like html.
class html_view {
public:
    constexpr explicit html_view(std::string_view trusted) noexcept : text_(trusted) {}
    html_view(html const& h) noexcept : text_(h.view()) {}  // NOLINT: implicit on purpose
    constexpr std::string_view view() const noexcept { return text_; }

private:
    std::string_view text_;
};

}  // namespace porthole
