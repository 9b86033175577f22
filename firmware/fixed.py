# Exact decimal numbers as integer mantissa and number of decimals.
# The ESP32 MicroPython port has 32-bit floats (7 digits): a register like 123456.789 kWh would lose
# its last digits, so the firmware keeps every measured value as an integer mantissa.


class Dec:
    """A decimal number m * 10**-e, as the meter wrote it (e digits after the point)."""

    __slots__ = ('m', 'e')  # CPython: smaller and faster; MicroPython ignores it

    def __init__(self, m, e):
        self.m = m
        self.e = e

    def scaled(self, e):
        """The integer mantissa at e decimals (rounded half away from zero when e < self.e)."""
        if e >= self.e:
            return self.m * 10 ** (e - self.e)
        q = 10 ** (self.e - e)
        if self.m >= 0:
            return (self.m + q // 2) // q
        return -((-self.m + q // 2) // q)

    def __float__(self):
        return self.m / 10 ** self.e

    def __eq__(self, other):
        if isinstance(other, Dec):
            e = max(self.e, other.e)
            return self.scaled(e) == other.scaled(e)
        if isinstance(other, (int, float)):
            return float(self) == other
        return NotImplemented

    def __hash__(self):
        e = self.e
        m = self.m
        while e > 0 and m % 10 == 0:
            m //= 10
            e -= 1
        return hash((m, e))

    def __repr__(self):
        return 'Dec(%s)' % self.text()

    def text(self):
        """The number as decimal text with exactly e decimals."""
        m = self.m
        sign = '-' if m < 0 else ''
        m = -m if m < 0 else m
        if self.e == 0:
            return sign + str(m)
        s = str(m)
        if len(s) <= self.e:
            s = '0' * (self.e - len(s) + 1) + s
        return sign + s[:-self.e] + '.' + s[-self.e:]

    __str__ = text


def is_digits(s):
    """True when s is one or more ASCII digits 0-9: MicroPython's rule, the same under CPython (whose
    isdigit() and int() also accept superscripts, Arabic-Indic and full-width digits)."""
    return bool(s) and s.isdigit() and max(s) <= '9'


def parse_dec(s):
    """Dec from decimal text like '000123.456' or '-1.5'; None if it is not a plain decimal."""
    neg = False
    if s and (s[0] == '-' or s[0] == '+'):
        neg = s[0] == '-'
        s = s[1:]
    dot = s.find('.')
    if dot < 0:
        digits = s
        e = 0
    else:
        digits = s[:dot] + s[dot + 1:]
        e = len(s) - dot - 1
    # 0-9 only: CPython's isdigit()/int() also take '²', '١', '１' (MicroPython's do not): is_digits
    if not is_digits(digits):
        return None
    m = int(digits)
    return Dec(-m if neg else m, e)
