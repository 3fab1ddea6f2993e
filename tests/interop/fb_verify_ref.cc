/*
 * fb_verify_ref.cc - the reference verifier oracle for the verifier
 * agreement test: runs libflatbuffers' reflection verifier
 * (flatbuffers::Verify / VerifySizePrefixed from libflatbuffers-dev 2.0.8)
 * over files and prints one verdict line per file, `accept` or `reject`,
 * in the order given.
 *
 *   fb_verify_ref [--size-prefixed] [--root NAME] SCHEMA.bfbs FILE...
 *   fb_verify_ref [--size-prefixed] [--root NAME] SCHEMA.bfbs --list LISTFILE
 *
 * LISTFILE holds one path a line, so that tens of thousands of inputs are
 * judged in one process. NAME is a table's full name (default: the
 * schema's root_type). Limits are the library defaults sluice also uses:
 * depth 64, 1,000,000 tables. Each input is copied to the start of an
 * 8-aligned buffer, because the verifier checks alignment relative to the
 * buffer start and reads in place. Exit: 0 done, 1 I/O error, 2 usage.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "flatbuffers/reflection.h"

namespace {

constexpr flatbuffers::uoffset_t kDepthMax = 64;
constexpr flatbuffers::uoffset_t kTablesMax = 1000000;

// Reads a whole file; false when it cannot be read.
bool read_file(const std::string &path, std::string *out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

const reflection::Object *find_object(const reflection::Schema &schema, const std::string &name)
{
    if (name.empty())
        return schema.root_table();
    for (const reflection::Object *object : *schema.objects()) {
        if (object->name()->str() == name)
            return object->is_struct() ? nullptr : object;
    }
    return nullptr;
}

// 8-aligned storage for one input, with 8 zero bytes of slack past the end:
// the reflection verifier reads the root offset before any bounds check, so
// an input shorter than 4 bytes must not make it read past our allocation.
class AlignedInput {
  public:
    const uint8_t *load(const std::string &bytes)
    {
        size_t words = bytes.size() / 8 + 2;
        if (store_.size() < words)
            store_.resize(words);
        std::memset(store_.data(), 0, words * 8);
        std::memcpy(store_.data(), bytes.data(), bytes.size());
        return reinterpret_cast<const uint8_t *>(store_.data());
    }

  private:
    std::vector<uint64_t> store_;
};

int usage()
{
    std::fprintf(stderr, "usage: fb_verify_ref [--size-prefixed] [--root NAME] SCHEMA.bfbs "
                         "(FILE... | --list LISTFILE)\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv)
{
    bool prefixed = false;
    std::string root_name, list_path, schema_path;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--size-prefixed") {
            prefixed = true;
        } else if ((arg == "--root" || arg == "--list") && i + 1 < argc) {
            (arg == "--root" ? root_name : list_path) = argv[++i];
        } else if (arg.rfind("--", 0) == 0) {
            return usage();
        } else if (schema_path.empty()) {
            schema_path = arg;
        } else {
            paths.push_back(arg);
        }
    }
    if (schema_path.empty() || (paths.empty() == list_path.empty()))
        return usage();

    std::string bfbs;
    if (!read_file(schema_path, &bfbs)) {
        std::fprintf(stderr, "fb_verify_ref: cannot read %s\n", schema_path.c_str());
        return 1;
    }
    AlignedInput schema_store;
    const uint8_t *schema_buf = schema_store.load(bfbs);
    flatbuffers::Verifier schema_verifier(schema_buf, bfbs.size());
    if (!reflection::VerifySchemaBuffer(schema_verifier)) {
        std::fprintf(stderr, "fb_verify_ref: %s is not a valid .bfbs\n", schema_path.c_str());
        return 1;
    }
    const reflection::Schema &schema = *reflection::GetSchema(schema_buf);
    const reflection::Object *root = find_object(schema, root_name);
    if (!root) {
        std::fprintf(stderr, "fb_verify_ref: no table '%s' in %s\n", root_name.c_str(),
                     schema_path.c_str());
        return 2;
    }

    if (!list_path.empty()) {
        std::ifstream list(list_path);
        if (!list) {
            std::fprintf(stderr, "fb_verify_ref: cannot read %s\n", list_path.c_str());
            return 1;
        }
        for (std::string line; std::getline(list, line);) {
            if (!line.empty())
                paths.push_back(line);
        }
    }

    AlignedInput input;
    std::string bytes;
    for (const std::string &path : paths) {
        if (!read_file(path, &bytes)) {
            std::fprintf(stderr, "fb_verify_ref: cannot read %s\n", path.c_str());
            return 1;
        }
        const uint8_t *buf = input.load(bytes);
        bool ok = prefixed ? flatbuffers::VerifySizePrefixed(schema, *root, buf, bytes.size(),
                                                             kDepthMax, kTablesMax)
                           : flatbuffers::Verify(schema, *root, buf, bytes.size(), kDepthMax,
                                                 kTablesMax);
        std::fputs(ok ? "accept\n" : "reject\n", stdout);
    }
    return std::fflush(stdout) == 0 ? 0 : 1;
}
