"""Process templates (quy trình nội bộ) as data: the admin use cases (`service`), the YAML/JSON
import (`files`) and the RPCs (`api`, a mixin of routing's one servicer)."""
