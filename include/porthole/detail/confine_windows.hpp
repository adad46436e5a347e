// porthole/detail/confine_windows.hpp: static_files' confinement on Windows, where there is no
// openat. Names are refused first for Windows' own ways of reaching something else (device
// names, alternate data streams, trailing dots and spaces, reserved characters); the file is
// then opened by handle below the root's final path, and its own final path
// (GetFinalPathNameByHandleW) must still be below the root: a symbolic link or junction that
// leaves the root is refused, and without follow_symlinks any reparse point at all. A short
// (8.3) alias of a name is refused either way: a file has one URL, and names are checked as asked.
#pragma once

#include <porthole/detail/platform.hpp>

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole::detail {

// True for a name Windows reads as a device wherever it stands: CON, PRN, AUX, NUL, COM0-9,
// LPT0-9 (also with the superscript digits ¹²³), CONIN$, CONOUT$, CLOCK$, alone or before an
// extension ("nul.txt", "COM1 .log"), in any case.
inline bool is_windows_device_name(std::string_view name) noexcept {
    auto base = name.substr(0, name.find('.'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
    auto is = [&](std::string_view s, std::string_view word) {
        if (s.size() != word.size()) return false;
        for (std::size_t i = 0; i < word.size(); ++i)
            if (upper(s[i]) != word[i]) return false;
        return true;
    };
    for (std::string_view w : {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"})
        if (is(base, w)) return true;
    if (base.size() < 4 || !(is(base.substr(0, 3), "COM") || is(base.substr(0, 3), "LPT"))) return false;
    auto digit = base.substr(3);
    return (digit.size() == 1 && digit[0] >= '0' && digit[0] <= '9') || digit == "\xC2\xB9" || digit == "\xC2\xB2" ||
           digit == "\xC2\xB3";  // ¹ ² ³
}

// A single path segment that names a file of the directory and nothing else on Windows: no
// separators, no stream (':'), no wildcard or reserved character, no control byte, no trailing
// dot or space (Windows drops them, so "a.txt." would open "a.txt"), no device name.
inline bool is_plain_windows_name(std::string_view name) noexcept {
    if (name.empty() || name.back() == '.' || name.back() == ' ') return false;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return false;
        if (std::string_view("\\/:*?\"<>|").find(c) != std::string_view::npos) return false;
    }
    return !is_windows_device_name(name);
}

// The final path of an open handle ("\\?\C:\www\a.txt"); empty on failure.
inline std::wstring final_path_of(HANDLE h) {
    std::wstring path(MAX_PATH, L'\0');
    for (int tries = 0; tries < 3; ++tries) {
        DWORD n = ::GetFinalPathNameByHandleW(h, path.data(), static_cast<DWORD>(path.size()),
                                              FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
        if (n == 0) return {};
        if (n < path.size()) {
            path.resize(n);
            return path;
        }
        path.resize(n + 1);
    }
    return {};
}

inline bool same_path(std::wstring_view a, std::wstring_view b) noexcept {
    return a.size() == b.size() && ::CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                                                          static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

// True when `path` is `root` or lies below it (case as NTFS compares names: ordinal, ignoring case).
inline bool is_beneath(std::wstring_view path, std::wstring_view root) noexcept {
    while (!root.empty() && root.back() == L'\\') root.remove_suffix(1);
    if (path.size() < root.size() || !same_path(path.substr(0, root.size()), root)) return false;
    return path.size() == root.size() || path[root.size()] == L'\\';
}

// Whether `name` has the shape of a short (8.3) name: at most 8 characters, a dot and at most 3,
// not beginning with a dot. Only such a name can be an alias of another.
inline bool could_be_short_name(std::wstring_view name) noexcept {
    auto dot = name.find(L'.');
    auto base = name.substr(0, dot);
    if (base.empty() || base.size() > 8) return false;
    if (dot == std::wstring_view::npos) return true;
    auto extension = name.substr(dot + 1);
    return extension.size() <= 3 && extension.find(L'.') == std::wstring_view::npos;
}

// 0 when the last name of `path` (below the root's final path) is the name its directory lists
// for the file, `name` in any case, rather than a short (8.3) alias of another name ("GIT~1"
// for ".git"), which would take a request past every check of the names it asks for
// (dotfiles): ENOENT for an alias, else the errno-like error of the search. FindFirstFile
// matches either name and reports the long one.
inline int listed_name_error(std::wstring const& path, std::wstring_view name) {
    if (!could_be_short_name(name)) return 0;
    WIN32_FIND_DATAW found{};
    HANDLE find = ::FindFirstFileExW(path.c_str(), FindExInfoBasic, &found, FindExSearchNameMatch, nullptr, 0);
    if (find == INVALID_HANDLE_VALUE) return errno_from_windows(::GetLastError());
    ::FindClose(find);
    return same_path(found.cFileName, name) ? 0 : ENOENT;
}

// Opens the root directory of a static_files; -1 with errno set.
inline int open_root_directory(std::string const& utf8_path) {
    std::wstring path;
    if (!to_utf16(utf8_path, path)) {
        errno = ENOENT;
        return -1;
    }
    HANDLE h = ::CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        errno = errno_from_windows(::GetLastError());
        return -1;
    }
    BY_HANDLE_FILE_INFORMATION info{};
    if (!::GetFileInformationByHandle(h, &info) || !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
        ::CloseHandle(h);
        errno = ENOTDIR;
        return -1;
    }
    return descriptor_for(h);
}

// Opens `names` (single path segments, already free of "/", "\", "." and "..") below the root
// directory `root`; no names opens the root itself. Returns the descriptor, or -1 with an
// errno-like `error`.
inline int open_beneath(int root, std::vector<std::string> const& names, bool follow_symlinks, int& error) {
    std::wstring root_path = final_path_of(file_handle(root));
    if (root_path.empty()) {
        error = ENOENT;
        return -1;
    }
    // The root's final path has the "\\?\" prefix: what follows is taken literally, with no
    // further normalization of the names (already refused where it would apply).
    std::wstring path = root_path;
    std::wstring name16;
    for (auto const& name : names) {
        if (!is_plain_windows_name(name) || !to_utf16(name, name16)) {
            error = ENOENT;
            return -1;
        }
        if (path.back() != L'\\') path += L'\\';
        path += name16;
        // Without follow_symlinks the final path below catches an alias; with it, a link's final
        // path differs anyway, so each name is checked itself.
        if (follow_symlinks) {
            if (int e = listed_name_error(path, name16)) {
                error = e;
                return -1;
            }
        }
    }
    DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | (follow_symlinks ? 0 : FILE_FLAG_OPEN_REPARSE_POINT);
    HANDLE h = ::CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             nullptr, OPEN_EXISTING, flags, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        error = errno_from_windows(::GetLastError());
        return -1;
    }
    auto refuse = [&](int e) {
        ::CloseHandle(h);
        error = e;
        return -1;
    };
    if (::GetFileType(h) != FILE_TYPE_DISK) return refuse(ENOENT);
    BY_HANDLE_FILE_INFORMATION info{};
    if (!::GetFileInformationByHandle(h, &info)) return refuse(EIO);
    if (!follow_symlinks && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) return refuse(ELOOP);
    std::wstring final_path = final_path_of(h);
    if (final_path.empty() || !is_beneath(final_path, root_path)) return refuse(EXDEV);
    // Without follow_symlinks the file must be where it was asked for: a reparse point on
    // the way, or a short (8.3) alias for another name, changes the final path.
    if (!follow_symlinks && !same_path(final_path, path)) return refuse(ELOOP);
    int fd = descriptor_for(h);
    if (fd < 0) error = errno;  // out of C runtime descriptors (EMFILE): 503, not 404
    return fd;
}

// The names in a directory opened by open_beneath that could be served, with whether each is a
// directory (a reparse point to one is not): reparse points only when `follow_symlinks`. False
// when the directory cannot be read.
inline bool read_directory(int dir_fd, bool follow_symlinks, std::vector<std::pair<std::string, bool>>& entries) {
    std::wstring pattern = final_path_of(file_handle(dir_fd));
    if (pattern.empty()) return false;
    if (pattern.back() != L'\\') pattern += L'\\';
    pattern += L'*';
    WIN32_FIND_DATAW found{};
    HANDLE find = ::FindFirstFileExW(pattern.c_str(), FindExInfoBasic, &found, FindExSearchNameMatch, nullptr, 0);
    if (find == INVALID_HANDLE_VALUE) return ::GetLastError() == ERROR_FILE_NOT_FOUND;
    std::string name;
    do {
        std::wstring_view wide = found.cFileName;
        if (wide == L"." || wide == L"..") continue;
        if (!to_utf8(wide, name) || !is_plain_windows_name(name)) continue;  // could not be served anyway
        bool reparse = (found.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
        if (reparse && !follow_symlinks) continue;  // 404 without it
        bool is_dir = (found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && !reparse;
        entries.emplace_back(name, is_dir);
    } while (::FindNextFileW(find, &found));
    ::FindClose(find);
    return true;
}

}  // namespace porthole::detail
