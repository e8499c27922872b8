"""Only what pyproject.toml cannot say: the wheel carries realsig_botocore.pth at the top of
site-packages (a .pth outside any package; setuptools has no declarative option for that).
At interpreter start it imports realsig._autopatch only when $REALSIG_BOTOCORE is set."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "realsig_botocore.pth"


class build_py_with_pth(build_py):
    def run(self):
        super().run()
        self.copy_file(os.path.join("src", PTH), os.path.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


setup(cmdclass={"build_py": build_py_with_pth})
