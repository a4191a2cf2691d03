-- The rooms a user's clients are in, by client: the rooms-per-user quota counts them at
-- every room creation and join, which scanned every membership of the provider without this
-- index (found by `mimi bench streams --rooms`: room creation slowed with the number of
-- rooms held).
CREATE INDEX follower_members_by_client ON follower_members (client_uri, room);
