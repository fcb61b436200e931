"""A faithful Asterisk stand-in for tests, the demo and load tests.

``asterisk`` holds ``AsteriskSimulator`` (the PBX that places calls and answers the AMI);
``ami`` the manager-interface server, ``call`` one caller's AudioSocket stream, ``dialplan``
the model of dialplans/extensions.conf, ``events`` the AMI events of channels and
``channels`` the channel snapshots. Imports go one way: asterisk → dialplan → events →
call → channels, ami.
"""

from voicebot.telephony.simulator.asterisk import AsteriskSimulator
from voicebot.telephony.simulator.call import (
    CallStage,
    EmittedEvent,
    HeardFrame,
    RecordedAction,
    SimulatedCall,
)
from voicebot.telephony.simulator.dialplan import (
    AudioSocketMode,
    DepartmentBehaviour,
    SimulatorTiming,
)

__all__ = [
    "AsteriskSimulator",
    "AudioSocketMode",
    "CallStage",
    "DepartmentBehaviour",
    "EmittedEvent",
    "HeardFrame",
    "RecordedAction",
    "SimulatedCall",
    "SimulatorTiming",
]
