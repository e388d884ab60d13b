import sys

import gouda

from camembert import ready


def run():
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    print(f"Camembert after {days} days: {ready(days)} (gouda {gouda.__version__} for comparison)")
