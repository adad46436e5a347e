// form: GET / shows a form; POST /submit echoes the fields it received, HTML-escaped, so whatever
// a visitor types is shown as text and never runs as markup. With --upload-dir DIR, GET /upload
// shows an upload page with a progress bar, and POST /upload streams a multipart file into DIR
// (any size up to --max-upload BYTES, 4 GiB by default) without holding it in memory, answering
// with the stored name, size and SHA-256 (through OpenSSL's libcrypto when the build has it).
//   build/examples/form --port 8080 --upload-dir /tmp/uploads --max-upload 10000000000
#include <porthole/porthole.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if PORTHOLE_WITH_TLS
#include <openssl/evp.h>
#endif

constexpr auto form_page = porthole::make_template<R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Form</title></head><body>
<h1>Say something</h1>
<form method="post" action="/submit">
  <label>Name <input name="name"></label><br>
  <label>Message <textarea name="message"></textarea></label><br>
  <button>Send</button>
</form></body></html>
)">();

constexpr auto result_page = porthole::make_template<R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Received</title></head><body>
<h1>Received @@count@@ fields</h1><dl>@@!fields@@</dl><a href="/">again</a></body></html>
)">();

// The upload page: the browser's own upload progress events drive the bar.
constexpr std::string_view upload_page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Upload</title></head><body>
<h1>Upload a file</h1>
<form id="f" method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" name="file" required> <button>Upload</button>
</form>
<progress id="bar" max="1" value="0" hidden></progress> <span id="pct"></span>
<pre id="out"></pre>
<script>
document.getElementById("f").addEventListener("submit", e => {
  e.preventDefault();
  const xhr = new XMLHttpRequest(), bar = document.getElementById("bar");
  bar.hidden = false;
  xhr.upload.onprogress = p => {
    if (!p.lengthComputable) return;
    bar.value = p.loaded / p.total;
    document.getElementById("pct").textContent = Math.floor(100 * p.loaded / p.total) + " %";
  };
  xhr.onload = () => { document.getElementById("out").textContent = xhr.status + "\n" + xhr.responseText; };
  xhr.onerror = () => { document.getElementById("out").textContent = "the upload failed"; };
  xhr.open("POST", "/upload");
  xhr.send(new FormData(e.target));
});
</script></body></html>
)";

// SHA-256 through libcrypto, or nothing when the build has no OpenSSL.
class sha256 {
public:
#if PORTHOLE_WITH_TLS
    static constexpr bool available = true;
    sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
    void update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
    std::string hex() {
        unsigned char digest[32];
        unsigned n = 0;
        EVP_DigestFinal_ex(ctx_.get(), digest, &n);
        std::string out;
        for (unsigned i = 0; i < n; ++i) {
            char two[3];
            std::snprintf(two, sizeof two, "%02x", digest[i]);
            out += two;
        }
        return out;
    }

private:
    struct free_ctx {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, free_ctx> ctx_;
#else
    static constexpr bool available = false;
    void update(std::string_view) {}
    std::string hex() { return {}; }
#endif
};

// A name for the stored file from the one the browser sent: its last path component, with
// anything but letters, digits, '.', '-' and '_' replaced, never hidden, never empty.
std::string safe_name(std::string_view sent) {
    auto slash = sent.find_last_of("/\\");
    if (slash != std::string_view::npos) sent.remove_prefix(slash + 1);
    std::string name;
    for (char c : sent.substr(0, 100)) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
        name += ok ? c : '_';
    }
    while (!name.empty() && name[0] == '.') name[0] = '_';
    return name.empty() ? "upload" : name;
}

// Takes the multipart form of POST /upload: the part named "file" goes to a temporary file in the
// upload directory as it arrives, hashed on the way, and gets its name once the body is whole.
class upload_form {
public:
    explicit upload_form(std::string dir) : dir_(std::move(dir)) {}
    upload_form(upload_form&& o) noexcept
        : dir_(std::move(o.dir_)),
          temp_(std::move(o.temp_)),
          name_(std::move(o.name_)),
          hash_(std::move(o.hash_)),
          fd_(std::exchange(o.fd_, -1)),
          size_(o.size_),
          writing_(o.writing_),
          failed_(o.failed_) {}
    upload_form& operator=(upload_form&&) = delete;
    ~upload_form() { discard(); }

    void part(porthole::multipart::part const& p) {
        writing_ = false;
        if (p.name != "file" || !p.has_filename || fd_ >= 0) return;  // other fields are ignored
        temp_ = dir_ + "/.upload-XXXXXX";
        fd_ = ::mkstemp(temp_.data());
        if (fd_ < 0) {
            failed_ = errno;
            temp_.clear();  // no file of ours to remove
            return;
        }
        name_ = safe_name(p.filename);
        writing_ = true;
    }
    porthole::body_flow data(std::string_view piece) {
        if (failed_) return porthole::body_flow::stop;
        if (!writing_) return porthole::body_flow::more;
        hash_.update(piece);
        size_ += piece.size();
        while (!piece.empty()) {  // on the loop thread: local disks take it faster than a network gives it
            auto n = ::write(fd_, piece.data(), piece.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failed_ = n < 0 ? errno : ENOSPC;  // a write of 0 bytes: nothing more fits
                discard();                         // the room it took is given back at once
                return porthole::body_flow::stop;
            }
            piece.remove_prefix(static_cast<std::size_t>(n));
        }
        return porthole::body_flow::more;
    }
    void part_end() { writing_ = false; }

    porthole::response end() {
        if (failed_) return could_not_store(failed_);
        if (fd_ < 0) return porthole::response::text("no file part named \"file\"\n", porthole::status::bad_request);
        ::close(std::exchange(fd_, -1));
        // A name not taken yet: link() never replaces a file.
        std::string stored = name_;
        for (int i = 1; ::link(temp_.c_str(), (dir_ + "/" + stored).c_str()) != 0; ++i) {
            if (errno != EEXIST || i > 1000) {
                int error = errno;
                discard();
                return could_not_store(error);
            }
            stored = std::to_string(i) + "-" + name_;
        }
        ::unlink(temp_.c_str());
        temp_.clear();
        std::string body = "stored " + stored + "\nsize " + std::to_string(size_) + "\n";
        body += sha256::available ? "sha256 " + hash_.hex() + "\n" : "sha256 unavailable: built without OpenSSL\n";
        return porthole::response::text(body, porthole::status::created);
    }
    void abort() { discard(); }

private:
    // A full disk or quota is 507 (RFC 4918 section 11.5): the request was fine, the room is not
    // there; any other failure is the server's, 500.
    static porthole::response could_not_store(int error) {
        if (error == ENOSPC || error == EDQUOT)
            return porthole::response::text("no space left to store the file\n",
                                            porthole::status::insufficient_storage);
        return porthole::response::text("could not store the file\n", porthole::status::internal_server_error);
    }

    void discard() {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
    }

    std::string dir_, temp_, name_;
    sha256 hash_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    bool writing_ = false;
    int failed_ = 0;  // the errno of a failed store
};

int main(int argc, char** argv) {
    auto command_line = porthole::server_options::from_command_line(
        argc, argv,
        {{"--upload-dir DIR", "store uploaded files there (default: uploads are off)"},
         {"--max-upload BYTES", "the largest upload (default 4 GiB)", {0, 1ll << 50}}});
    if (!command_line.ok()) return command_line.report();  // --help, or a mistake
    std::string upload_dir(porthole::command_line_value(argc, argv, "--upload-dir").value_or(""));
    auto max_upload =
        static_cast<std::uint64_t>(porthole::command_line_number(argc, argv, "--max-upload").value_or(4ll << 30));
    struct stat st {};
    if (!upload_dir.empty() && (::stat(upload_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
        std::fprintf(stderr, "form: --upload-dir %s is not a directory\n", upload_dir.c_str());
        return 2;
    }
    auto app = porthole::router{
        porthole::get<"/">([] { return form_page.render(); }),
        porthole::post<"/submit">([](porthole::request const& req) {
            std::string fields, name, value;
            int count = 0;
            for (auto const& p : porthole::form_fields(req)) {
                name.clear(), value.clear();
                porthole::url::decode_form(p.name, name), porthole::url::decode_form(p.value, value);
                fields += "<dt>", porthole::html_escape(name, fields), fields += "</dt><dd>";
                porthole::html_escape(value, fields), fields += "</dd>\n";
                ++count;
            }
            return result_page.render(porthole::arg<"count">(count), porthole::arg<"fields">(porthole::html(fields)));
        }),
        porthole::get<"/upload">([&]() -> porthole::response {
            if (upload_dir.empty())
                return porthole::response::text("uploads are off: start with --upload-dir DIR\n",
                                                porthole::status::not_found);
            return porthole::response::html(std::string(upload_page));
        }),
        porthole::post<"/upload">(porthole::streamed_body(
            {.max_size = max_upload},
            [&](porthole::request const& req) -> porthole::response {
                if (upload_dir.empty())
                    return porthole::response::text("uploads are off: start with --upload-dir DIR\n",
                                                    porthole::status::not_found);
                return porthole::take_multipart(req, upload_form(upload_dir));
            })),
    };
    return porthole::serve(app, std::move(command_line.options));
}
