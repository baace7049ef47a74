// Runs a fuzz target without libFuzzer (GCC builds, the test suite): every
// input of the corpus, then --mutations inputs made from them by a seeded
// generator (byte flips, inserts, deletions, duplicated and spliced runs),
// so a suite run exercises the target beyond its seeds, the same way each
// time. scripts/fuzz builds the same targets with libFuzzer instead.
//
//   <target> CORPUS_DIR_OR_FILE... [--mutations N] [--seed S]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Collect(const std::filesystem::path& path, std::vector<std::string>& inputs) {
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path)) files.push_back(entry);
    std::sort(files.begin(), files.end());  // the same order on every run
    for (const auto& f : files) Collect(f, inputs);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  inputs.push_back(bytes.str());
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // insert a byte, often an interesting one
        s.insert(pick(s.size() + 1), 1, "\x00\xff\x7f\x80{}\"\\:\r\n%="[rng() % 14]);
        break;
      case 2:  // delete a run
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 3:  // duplicate a run
        if (!s.empty()) {
          size_t at = pick(s.size());
          std::string run = s.substr(at, 1 + pick(32));
          s.insert(pick(s.size() + 1), run);
        }
        break;
      case 4:  // splice in part of another input
        if (!corpus.empty()) {
          const std::string& other = corpus[pick(corpus.size())];
          if (!other.empty()) {
            size_t at = pick(other.size());
            s.insert(pick(s.size() + 1), other.substr(at, 1 + pick(64)));
          }
        }
        break;
      default:  // overwrite a byte with a random one
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  long mutations = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mutations") && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      Collect(argv[i], corpus);
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no inputs: name a corpus directory or file\n");
    return 2;
  }
  for (const auto& input : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) {
    std::string input = Mutate(corpus[rng() % corpus.size()], corpus, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::printf("%zu corpus inputs and %ld mutations ran\n", corpus.size(), mutations);
  return 0;
}
