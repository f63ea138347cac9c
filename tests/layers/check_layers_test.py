#!/usr/bin/python3
"""scripts/check_layers.py fails on edges against the stage order.

Each case copies the real tree's sources and CMakeLists.txt files to a
temporary directory, injects one edge (an include or a link) and runs the
checker over the copy: it must exit non-zero and name the edge. The clean
copy must pass, so each failure is the injected edge's.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(ROOT, 'scripts', 'check_layers.py')


def copy_tree(dest):
    for top in ('common', 'daemon', 'client', 'proto'):
        for dirpath, _, filenames in os.walk(os.path.join(ROOT, top)):
            for name in filenames:
                if name.endswith(('.h', '.cc')) or name == 'CMakeLists.txt':
                    src = os.path.join(dirpath, name)
                    dst = os.path.join(dest, os.path.relpath(src, ROOT))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copyfile(src, dst)


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.tree = tempfile.mkdtemp(prefix='check_layers_test.')
        copy_tree(self.tree)

    def tearDown(self):
        shutil.rmtree(self.tree)

    def run_checker(self):
        return subprocess.run([sys.executable, CHECKER, '--root', self.tree],
                              capture_output=True, text=True, check=False)

    def append(self, rel, text):
        path = os.path.join(self.tree, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'a', encoding='utf-8') as f:
            f.write(text)

    def assert_fails_naming(self, *fragments):
        result = self.run_checker()
        self.assertNotEqual(result.returncode, 0, result.stdout)
        for fragment in fragments:
            self.assertIn(fragment, result.stdout)

    def test_clean_copy_passes(self):
        result = self.run_checker()
        self.assertEqual(result.returncode, 0, result.stdout)

    def test_decoder_including_the_tracker_fails(self):
        self.append('daemon/decode/decoder.h', '#include "daemon/track/connection.h"\n')
        self.assert_fails_naming('daemon/decode/decoder.h:', '"daemon/track/connection.h"',
                                 'decode -> track runs against the stage order')

    def test_sibling_stages_may_not_include_each_other(self):
        # DPI and the tracker meet only in the pipeline.
        self.append('daemon/dpi/engine.h', '#include "daemon/track/connection.h"\n')
        self.assert_fails_naming('daemon/dpi/engine.h:', 'dpi -> track')

    def test_record_including_a_stage_above_fails(self):
        self.append('daemon/record/app_record.h', '#include "daemon/dpi/dissector.h"\n')
        self.assert_fails_naming('daemon/record/app_record.h:', 'record -> dpi')

    def test_link_back_edge_fails(self):
        self.append('daemon/CMakeLists.txt', '\ntarget_link_libraries(rn_dpi PUBLIC rn_pipeline)\n')
        self.assert_fails_naming('daemon/CMakeLists.txt:', 'rn_dpi links rn_pipeline',
                                 'dpi -> pipeline')

    def test_client_including_the_daemon_fails(self):
        self.append('client/format.h', '#include "daemon/snapshot/convert.h"\n')
        self.assert_fails_naming('client/format.h:', 'client -> snapshot')

    def test_libpcap_in_a_dissector_fails(self):
        self.append('daemon/dpi/tls.cc', '#include <pcap/pcap.h>\n')
        self.assert_fails_naming('daemon/dpi/tls.cc:', '<pcap/pcap.h>', 'dpi -> pcap')

    def test_grpc_in_the_snapshot_stage_fails(self):
        self.append('daemon/snapshot/convert.h', '#include "rustnet/v1/monitor.grpc.pb.h"\n')
        self.assert_fails_naming('daemon/snapshot/convert.h:', 'snapshot -> proto_grpc')

    def test_a_folder_in_no_stage_fails(self):
        self.append('daemon/newstage/thing.h', '#include "common/flow_key.h"\n')
        self.assert_fails_naming('daemon/newstage/thing.h: no stage')

    def test_a_library_in_no_stage_fails(self):
        self.append('daemon/CMakeLists.txt', '\nadd_library(rn_extra STATIC dpi/engine.cc)\n')
        self.assert_fails_naming('rn_extra is in no stage')

    def test_a_library_building_another_stages_file_fails(self):
        # (As if rn_dpi's source list named the tracker's file.)
        self.append('daemon/CMakeLists.txt', '\nadd_library(rn_dpi STATIC track/flow_table.cc)\n')
        self.assert_fails_naming('rn_dpi (dpi) builds track/flow_table.cc, a file of track')


if __name__ == '__main__':
    unittest.main(verbosity=2)
