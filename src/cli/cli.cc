// arca CLI: command dispatch and the top-level help.
#include "cli/cli.h"

#include <algorithm>
#include <sstream>

#include "cli/command.h"

namespace arca::cli {
namespace {

constexpr std::string_view kVersion = "Arca v0.1.0";

const std::vector<CommandDef>& AllCommands() {
  static const std::vector<CommandDef> all = [] {
    std::vector<CommandDef> v;
    for (const auto* list : {&SysCommands(), &LogicalCommands(), &KvCommands(), &TokenCommands(),
                             &AdminCommands(), &HaCommands(), &EndpointCommands()})
      v.insert(v.end(), list->begin(), list->end());
    return v;
  }();
  return all;
}

std::size_t WordCount(std::string_view name) {
  return static_cast<std::size_t>(std::count(name.begin(), name.end(), ' ')) + 1;
}

std::string Join(const std::vector<std::string>& words, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? " " : "") + words[i];
  return out;
}

std::string TopLevelHelp() {
  static const std::vector<std::string_view> kCommon = {"read", "write", "delete", "list",
                                                        "login", "server", "status"};
  std::ostringstream out;
  out << "Usage: arca <command> [args]\n\nCommon commands:\n";
  auto line = [&](std::string_view name, std::string_view synopsis) {
    std::string n(name);
    n.resize(std::max<std::size_t>(n.size(), 12), ' ');
    out << "    " << n << synopsis << "\n";
  };
  for (auto name : kCommon) {
    if (name == "server") {
      line("server", "Start an arca server");
      continue;
    }
    for (const auto& d : AllCommands())
      if (d.name == name) line(d.name, d.synopsis);
  }
  out << "\nOther commands:\n";
  std::vector<const CommandDef*> others;
  for (const auto& d : AllCommands()) {
    if (WordCount(d.name) != 1) continue;
    if (std::find(kCommon.begin(), kCommon.end(), d.name) != kCommon.end()) continue;
    others.push_back(&d);
  }
  std::sort(others.begin(), others.end(),
            [](const CommandDef* a, const CommandDef* b) { return a->name < b->name; });
  for (const auto* d : others) line(d->name, d->synopsis);
  out << "    " << std::string("version").append(5, ' ') << "Prints the arca version";
  return out.str();
}

std::string GroupHelp(const CommandDef& group) {
  std::ostringstream out;
  out << group.help << "\n\nSubcommands:\n";
  std::string prefix = std::string(group.name) + " ";
  std::size_t depth = WordCount(group.name) + 1;
  std::vector<const CommandDef*> subs;
  for (const auto& d : AllCommands())
    if (d.name.substr(0, prefix.size()) == prefix && WordCount(d.name) == depth) subs.push_back(&d);
  std::sort(subs.begin(), subs.end(),
            [](const CommandDef* a, const CommandDef* b) { return a->name < b->name; });
  std::size_t width = 0;
  for (const auto* d : subs) width = std::max(width, d->name.size() - prefix.size());
  for (const auto* d : subs) {
    std::string n(d->name.substr(prefix.size()));
    n.resize(width + 4, ' ');
    out << "    " << n << d->synopsis << "\n";
  }
  std::string s = out.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

int RunArgs(const std::vector<std::string>& args, Env& env) {
  Ui ui;
  ui.out = env.out;
  ui.err = env.err;
  if (args.empty() || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" ||
      args[0] == "help") {
    ui.Error(TopLevelHelp());
    return args.empty() ? 127 : 0;
  }
  if (args[0] == "version" || args[0] == "-v" || args[0] == "-version" || args[0] == "--version") {
    ui.Output(kVersion);
    return 0;
  }
  // The longest run of leading words that names a command.
  const CommandDef* found = nullptr;
  std::size_t words = 0;
  for (const auto& d : AllCommands()) {
    std::size_t n = WordCount(d.name);
    if (n > args.size() || n <= words) continue;
    if (Join(args, n) == d.name) {
      found = &d;
      words = n;
    }
  }
  if (!found) {
    ui.Error(TopLevelHelp());
    return 127;
  }
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(words), args.end());
  if (!found->run) {
    bool asked = !rest.empty() && (rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help");
    ui.Error(GroupHelp(*found));
    return asked ? 0 : 127;
  }
  Command cmd(env, std::string(found->help));
  return found->run(cmd, rest);
}

int Run(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  Env env = SystemEnv();
  return RunArgs(args, env);
}

}  // namespace arca::cli
