// tests/url/url_dump.cpp CORPUS: prints netco's result for each case of the URL corpus, one
// "KEY<TAB>RESULT" line each, the format tests/url/dump.js prints for Node.
#include <cstdio>
#include <exception>
#include <string>

#include "url_cases.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS\n", argv[0]);
    return 2;
  }
  try {
    namespace uc = netco_test::url_cases;
    uc::run_corpus(uc::read_file(argv[1]), [](const std::string& key, const std::string& result) {
      std::fwrite(key.data(), 1, key.size(), stdout);
      std::fputc('\t', stdout);
      std::fwrite(result.data(), 1, result.size(), stdout);
      std::fputc('\n', stdout);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "url_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
