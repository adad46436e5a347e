// file_server: serves the files of a directory (index.html for directories, ranges,
// conditional requests; nothing outside the directory).
//   build/examples/file_server --root www --port 8080 --threads 2
#include <porthole/porthole.hpp>

#include <cstdio>
#include <string>
#include <system_error>

int main(int argc, char** argv) {
    auto command_line = porthole::options::from_command_line(argc, argv);
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    std::string root(porthole::command_line_value(argc, argv, "--root").value_or("."));
    try {
        porthole::static_files files(root);
        return porthole::serve(files, std::move(command_line.options));
    } catch (std::system_error const& e) {
        std::fprintf(stderr, "file_server: cannot serve %s: %s\n", root.c_str(), e.code().message().c_str());
        return 1;
    }
}
