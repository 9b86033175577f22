# The one error the OTA path raises: an HTTP status and a message saying what was expected and what came.


class OtaError(Exception):
    def __init__(self, status, message, phase='manifest'):
        super().__init__(message)
        self.status = status
        self.message = message
        self.phase = phase
