import sys

from intygsgw.cli.main import main

sys.exit(main())
