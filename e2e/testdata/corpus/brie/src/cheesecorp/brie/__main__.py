import sys

import gouda
from cheesecorp.brie import label


def main():
    print(label(sys.argv[1] if len(sys.argv) > 1 else "Meaux"), "(with gouda", gouda.__version__ + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
