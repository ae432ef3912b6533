-- Who works which queue: a technician's "my queues" on the My work page.
CREATE TABLE queue_members (
    queue_id    BIGINT NOT NULL REFERENCES queues(id),
    resource_id BIGINT NOT NULL REFERENCES resources(id),
    PRIMARY KEY (queue_id, resource_id)
);
CREATE INDEX queue_members_resource ON queue_members (resource_id);
