-- wrk script: GETs the URL given (with wrk's -H headers) at about FOLIO_PACE_RATE a second in
-- all, over wrk's threads and connections (FOLIO_PACE_THREADS, FOLIO_PACE_CONNECTIONS as
-- given to -t and -c): readers as they arrive, not as fast as the machine can answer.
dofile("bench/pace.lua")
pace_share = tonumber(os.getenv("FOLIO_PACE_RATE")) / tonumber(os.getenv("FOLIO_PACE_THREADS"))
pace_connections = tonumber(os.getenv("FOLIO_PACE_CONNECTIONS")) / tonumber(os.getenv("FOLIO_PACE_THREADS"))

function delay()
  return pace_delay()
end

function response(status, headers, body)
  pace_answered()
end
