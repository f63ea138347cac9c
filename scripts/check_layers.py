#!/usr/bin/python3
"""Checks that rustnet's stages depend one way.

Every `#include` in common/, daemon/ and client/, and every project target
in a target_link_libraries() of their CMakeLists.txt files (and proto/'s),
must point at the same stage or at one below it in STAGES. A stage that is
not in the table (a new folder, a new library) is an error too, so the table
stays the whole truth: add the stage here, with what it may use, and to the
graph in the top-level CMakeLists.txt.

Usage: check_layers.py [--root DIR]
Exits 0 if every edge follows the order; otherwise prints one line per edge
that does not ("file:line: ... decode -> track runs against the stage
order") and exits 1.
"""

import argparse
import os
import re
import sys

# Each stage and the stages it uses directly; it may also use everything
# those use (the closure). Stages not below one another (dpi, track,
# process, capture) may not use each other: the pipeline joins them.
# Lower-case names without a folder are outside libraries, so that "no
# libpcap or gRPC in decoders and dissectors" is checked too.
STAGES = {
    'common': [],
    'proto': [],                     # rustnet/v1/*.pb.h, generated messages
    'proto_grpc': ['proto'],         # the Monitor service stubs, gRPC
    'pcap': [],
    'openssl': [],
    'systemd': [],
    'ncurses': [],
    'maxminddb': [],
    'cares': [],
    'microhttpd': [],                # libmicrohttpd: the metrics endpoint's HTTP
    'crypt': [],                     # libxcrypt: bcrypt for the metrics endpoint
    'libbpf': [],                    # libbpf: the eBPF attribution source
    'decode': ['common'],
    'record': ['common'],            # records the stages hand each other
    'dpi': ['decode', 'record', 'openssl'],
    'track': ['decode', 'record'],
    'process': ['record', 'libbpf'],
    'enrich': ['common', 'maxminddb', 'cares'],  # GeoIP/ASN, MAC vendors (for the API)
    'capture': ['decode', 'record', 'pcap'],
    'snapshot': ['track', 'proto'],
    'pipeline': ['capture', 'dpi', 'track', 'process', 'snapshot'],
    'export': ['snapshot', 'microhttpd', 'crypt'],
    'history_store': ['snapshot'],   # closed connections in SQLite (a sink)
    'options': ['common'],
    'service': ['options', 'systemd'],
    'rpc': ['pipeline', 'service', 'proto_grpc', 'enrich'],
    'main': ['rpc', 'export', 'history_store'],
    'client': ['common', 'proto_grpc', 'ncurses'],
}

# Files outside a stage folder of their own.
FILE_STAGES = {
    'daemon/main.cc': 'main',
    'daemon/options.h': 'options',
    'daemon/options.cc': 'options',
    'daemon/config.h': 'service',   # built into rn_service
    'daemon/config.cc': 'service',
}

# CMake targets (ours, and outside ones that are a stage above).
TARGETS = {
    'rn_common': 'common',
    'rn_proto': 'proto',
    'rn_proto_grpc': 'proto_grpc',
    'rn_decode': 'decode',
    'rn_record': 'record',
    'rn_dpi': 'dpi',
    'rn_track': 'track',
    'rn_process': 'process',
    'rn_enrich': 'enrich',
    'rn_capture': 'capture',
    'rn_snapshot': 'snapshot',
    'rn_pipeline': 'pipeline',
    'rn_export': 'export',
    'rn_metrics': 'export',
    'rn_history_store': 'history_store',
    'rn_daemon_options': 'options',
    'rn_service': 'service',
    'rn_rpc': 'rpc',
    'rustnetd': 'main',
    'rn_client': 'client',
    'rustnet-tui': 'client',
    'PkgConfig::PCAP': 'pcap',
    'OpenSSL::Crypto': 'openssl',
    'PkgConfig::SYSTEMD': 'systemd',
    'PkgConfig::NCURSESW': 'ncurses',
    'PkgConfig::MAXMINDDB': 'maxminddb',
    'PkgConfig::CARES': 'cares',
    'PkgConfig::MHD': 'microhttpd',
    'PkgConfig::CRYPT': 'crypt',
    'PkgConfig::LIBBPF': 'libbpf',
}
TARGET_PREFIXES = {'gRPC::': 'proto_grpc'}

# Outside headers that belong to a stage above (by prefix of the path).
EXTERNAL_HEADERS = [
    ('pcap.h', 'pcap'), ('pcap/', 'pcap'),
    ('grpc/', 'proto_grpc'), ('grpcpp/', 'proto_grpc'), ('grpc++/', 'proto_grpc'),
    ('openssl/', 'openssl'),
    ('systemd/', 'systemd'),
    ('curses.h', 'ncurses'), ('ncurses', 'ncurses'),
    ('maxminddb.h', 'maxminddb'),
    ('ares.h', 'cares'), ('ares_', 'cares'),
    ('microhttpd.h', 'microhttpd'), ('crypt.h', 'crypt'),
    ('bpf/', 'libbpf'), ('linux/bpf.h', 'libbpf'),
]

SOURCE_DIRS = ['common', 'daemon', 'client']
CMAKE_DIRS = ['common', 'daemon', 'client', 'proto']
SOURCE_SUFFIXES = ('.h', '.cc')

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
CMAKE_CALL_RE = re.compile(r'\b(add_library|add_executable|target_link_libraries)\s*\(([^)]*)\)',
                           re.S)
CMAKE_KEYWORDS = {'PUBLIC', 'PRIVATE', 'INTERFACE', 'STATIC', 'SHARED', 'OBJECT', 'MODULE',
                  'IMPORTED', 'ALIAS', 'GLOBAL', 'EXCLUDE_FROM_ALL', 'LINK_PUBLIC',
                  'LINK_PRIVATE', 'LINK_INTERFACE_LIBRARIES'}


def closure(stages):
    """Stage -> every stage it may use (itself excluded). Fails on a cycle."""
    result = {}

    def visit(stage, path):
        if stage in result:
            return result[stage]
        if stage in path:
            raise SystemExit('check_layers.py: the stage table has a cycle: ' +
                             ' -> '.join(path + [stage]))
        below = set()
        for dep in stages[stage]:
            if dep not in stages:
                raise SystemExit(f'check_layers.py: stage {stage} uses unknown stage {dep}')
            below.add(dep)
            below |= visit(dep, path + [stage])
        result[stage] = below
        return below

    for s in stages:
        visit(s, [])
    return result


def stage_of_path(rel):
    """The stage of a project file (path relative to the root), or None."""
    rel = rel.replace(os.sep, '/')
    if rel in FILE_STAGES:
        return FILE_STAGES[rel]
    parts = rel.split('/')
    if parts[0] in ('common', 'client'):
        return parts[0]
    if parts[0] == 'daemon' and len(parts) > 2 and parts[1] in STAGES:
        return parts[1]
    if parts[0] == 'rustnet' and rel.endswith('.grpc.pb.h'):
        return 'proto_grpc'
    if parts[0] == 'rustnet' and rel.endswith('.pb.h'):
        return 'proto'
    return None


def is_project_path(path):
    return path.split('/')[0] in ('common', 'daemon', 'client', 'rustnet', 'tests', 'bench')


def stage_of_external(path):
    for prefix, stage in EXTERNAL_HEADERS:
        if path.startswith(prefix):
            return stage
    return None


def stage_of_target(name):
    if name in TARGETS:
        return TARGETS[name]
    for prefix, stage in TARGET_PREFIXES.items():
        if name.startswith(prefix):
            return stage
    return None


class Checker:
    def __init__(self, root):
        self.root = root
        self.below = closure(STAGES)
        self.errors = []
        self.includes = 0
        self.links = 0

    def allowed(self, user, used):
        return user == used or used in self.below[user]

    def may_use(self, stage):
        return ', '.join(sorted(self.below[stage])) or 'nothing'

    def edge(self, where, what, user, used):
        if self.allowed(user, used):
            return
        self.errors.append(f'{where}: {what}: {user} -> {used} runs against the stage order '
                           f'({user} may use: {self.may_use(user)})')

    def check_sources(self):
        for top in SOURCE_DIRS:
            for dirpath, dirnames, filenames in os.walk(os.path.join(self.root, top)):
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith(SOURCE_SUFFIXES):
                        self.check_file(os.path.join(dirpath, name))

    def check_file(self, path):
        rel = os.path.relpath(path, self.root).replace(os.sep, '/')
        user = stage_of_path(rel)
        if user is None:
            self.errors.append(f'{rel}: no stage for this file; add its folder to STAGES in '
                               'scripts/check_layers.py (and to the graph in CMakeLists.txt)')
            return
        with open(path, encoding='utf-8', errors='replace') as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                quote, target = m.groups()
                used = None
                if quote == '"' and is_project_path(target):
                    used = stage_of_path(target)
                    if used is None:
                        self.errors.append(f'{rel}:{number}: includes "{target}", which is in '
                                           'no stage')
                        continue
                else:
                    used = stage_of_external(target)
                    if used is None:
                        continue  # The standard library, Abseil, spdlog...
                self.includes += 1
                shown = f'"{target}"' if quote == '"' else f'<{target}>'
                self.edge(f'{rel}:{number}', f'includes {shown}', user, used)

    def check_cmake(self):
        for top in CMAKE_DIRS:
            for dirpath, dirnames, filenames in os.walk(os.path.join(self.root, top)):
                dirnames.sort()
                if 'CMakeLists.txt' in filenames:
                    self.check_cmake_file(os.path.join(dirpath, 'CMakeLists.txt'))

    def check_cmake_file(self, path):
        rel = os.path.relpath(path, self.root).replace(os.sep, '/')
        base = os.path.dirname(rel)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        # Comments out, keeping line numbers.
        text = re.sub(r'#[^\n]*', '', text)
        for m in CMAKE_CALL_RE.finditer(text):
            command, args = m.group(1), m.group(2).split()
            number = text.count('\n', 0, m.start()) + 1
            where = f'{rel}:{number}'
            if not args:
                continue
            target = args[0]
            stage = stage_of_target(target)
            if stage is None:
                self.errors.append(f'{where}: {target} is in no stage; add it to TARGETS in '
                                   'scripts/check_layers.py')
                continue
            if command in ('add_library', 'add_executable'):
                # Its sources must be its stage's own files.
                for source in args[1:]:
                    if source in CMAKE_KEYWORDS or '$' in source:
                        continue
                    if not source.endswith(SOURCE_SUFFIXES):
                        continue
                    source_stage = stage_of_path(f'{base}/{source}')
                    if source_stage != stage:
                        self.errors.append(f'{where}: {target} ({stage}) builds {source}, a file '
                                           f'of {source_stage or "no stage"}')
                continue
            for item in args[1:]:
                if item in CMAKE_KEYWORDS or '$' in item:
                    continue
                used = stage_of_target(item)
                if used is None:
                    if item.startswith('rn_') and item != 'rn_warnings':
                        self.errors.append(f'{where}: {target} links {item}, which is in no '
                                           'stage')
                    continue
                self.links += 1
                self.edge(where, f'{target} links {item}', stage, used)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help='the source tree (default: this script\'s)')
    args = parser.parse_args()
    checker = Checker(args.root)
    checker.check_sources()
    checker.check_cmake()
    for error in checker.errors:
        print(error)
    if checker.errors:
        print(f'check_layers: {len(checker.errors)} edge(s) against the stage order '
              '(the order is STAGES in scripts/check_layers.py)')
        return 1
    print(f'check_layers: {checker.includes} includes and {checker.links} link edges follow '
          'the stage order')
    return 0


if __name__ == '__main__':
    sys.exit(main())
