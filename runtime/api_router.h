// ApiRouter: the routes of stratad's API, translating requests into Store
// calls and their results into JSON. It knows nothing of sockets or HTTP
// framing: ApiServer decodes a request into an ApiRequest and hands it a
// ResponseWriter. The wire conventions are in api_protocol.h; the routes and
// their bodies are listed in docs/api.md.
//
//   GET    /v1/version                   {"version","api_version","root"}
//   GET    /v1/system/df                 Store::DiskUsage
//   GET    /v1/images                    {"images":[summary...]}
//   POST   /v1/images/import             {path, tags[], platform}     NDJSON stream
//   POST   /v1/images/import-rootfs      {path, tag}                  NDJSON stream
//   GET    /v1/images/{ref}              summary + "config"
//   GET    /v1/images/{ref}/history      {"history":[...]}, newest first
//   POST   /v1/images/{ref}/tag          {name}            -> 201 {"id","tag"}
//   DELETE /v1/images/{ref}              {"removed":[...]}
//   POST   /v1/images/{ref}/export       {path, format}               NDJSON stream
//   GET    /v1/mounts                    {"mounts":[{dir,image,writable}...]}
//   POST   /v1/mounts                    {image, path, writable}   -> 201 the mount
//   DELETE /v1/mounts/{ref}              {ref} = the mount's path  -> {"unmounted"}
//
// Registries (registry_routes.cc):
//   POST   /v1/images/pull               {ref, platform, auth}         NDJSON stream
//   POST   /v1/images/{ref}/push         {target, compression, chunk_size, auth}  NDJSON
//   POST   /v1/registry/login            {registry, username, password} -> {"status"}
//
// Containers and volumes (container_routes.cc; {ref} = a container's ID,
// ID prefix or name, or a volume's name):
//   GET    /v1/containers?all=1          {"containers":[container...]}
//   POST   /v1/containers                create request            -> 201 {"id","name"}
//   GET    /v1/containers/{ref}          container
//   DELETE /v1/containers/{ref}?force=1  {"removed": id}
//   POST   /v1/containers/{ref}/start|stop|restart|kill|pause|resume|reset
//   POST   /v1/containers/{ref}/start?attach=1   NDJSON output, then {"exit_code"}
//   POST   /v1/containers/{ref}/wait     {"exit_code"}
//   GET    /v1/containers/{ref}/logs?follow=1&tail=N    NDJSON log entries
//   POST   /v1/containers/{ref}/exec     {cmd,env,user,workdir}    NDJSON output
//          ... with "tty" or "interactive": an attached session (101, frames)
//   POST   /v1/containers/{ref}/attach?start=1   an attached session
//   POST   /v1/containers/{ref}/commit   {tag,comment,author}      -> 201 {"id","tag"}
//   GET    /v1/volumes, POST /v1/volumes {name,labels}, GET|DELETE /v1/volumes/{ref}
//
// Scheduled jobs (cron_routes.cc; {ref} = a job's name):
//   GET    /v1/cron                      {"jobs":[job...]}
//   POST   /v1/cron                      {name,schedule,tz,container|image,cmd,
//                                         timeout,overlap,catch_up}  -> 201 job
//   GET    /v1/cron/{ref}                job
//   DELETE /v1/cron/{ref}                {"removed": name}
//   GET    /v1/cron/{ref}/history        {"runs":[run...]}, oldest first
//
// Maintenance (maintenance_routes.cc):
//   POST   /v1/system/gc                 {dry_run, list}           -> GC report
//   POST   /v1/system/fsck               {}                        -> fsck report (no repair online)
//   GET    /v1/system/df/containers      {"containers":[...], "reclaimable":{bytes,objects}}
//   POST   /v1/images/prune              {dry_run}                 -> {"removed":[id...]}
//   POST   /v1/images/{ref}/squash       {tag}                     -> 201 squash result
//
// Paths in bodies name files on the service's host and must be absolute
// (the client resolves relative paths against its own working directory).
//
// Thread safety: Handle() may be called concurrently (the Store is
// thread-safe); one call uses its ResponseWriter from one thread at a time.
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "storage/store.h"

namespace strata::runtime {

class ContainerManager;
class CronScheduler;
class GcService;
class ImageMounts;
}  // namespace strata::runtime
namespace strata::registry {
class Registries;
}  // namespace strata::registry
namespace strata::runtime {

// What the routes act on. Services that are absent (a router over a bare
// store, in tests) answer their routes with ENOTSUP.
struct ApiServices {
  storage::Store& store;
  ImageMounts* mounts = nullptr;
  ContainerManager* containers = nullptr;
  CronScheduler* cron = nullptr;
  GcService* gc = nullptr;
  registry::Registries* registries = nullptr;  // absent: loopback registries only
};

struct ApiRequest {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string target;  // the request target as received ("/v1/images?x")
  std::string body;    // empty or JSON
};

// How a handler answers. Exactly one of: one Reply(); or StartStream(), any
// number of StreamLine(), FinishStream(). A writer whose peer went away keeps
// accepting calls and drops them (the operation still completes, unless it
// looks at PeerGone(), as a pull does).
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual void Reply(unsigned status, const boost::json::value& body) = 0;
  // Sends a 200 header announcing a chunked application/x-ndjson body.
  virtual void StartStream() = 0;
  virtual void StreamLine(const boost::json::value& line) = 0;
  virtual void FinishStream() = 0;
  // Whether a write to the peer has failed (it went away): an operation
  // may stop early instead of completing for no one.
  virtual bool PeerGone() const { return false; }
  // Instead of an answer: switches the connection to the handler's own
  // protocol (sends "101 UPGRADED", Connection: Upgrade, Upgrade: tcp, as
  // Docker's attach) and returns the socket, which the handler may read and
  // write until it returns; the server closes it afterwards. -1 when this
  // writer has no connection to give (then nothing was sent).
  virtual int Hijack() { return -1; }
};

class ApiRouter {
 public:
  // The services must outlive the router.
  explicit ApiRouter(const ApiServices& services)
      : store_(services.store),
        mounts_(services.mounts),
        containers_(services.containers),
        cron_(services.cron),
        gc_(services.gc),
        registries_(services.registries) {}

  // Answers request through writer exactly once. Unknown paths get 404,
  // a known path with another method 405; handler errors get the status
  // StatusForErrno gives. May throw only std::bad_alloc.
  void Handle(const ApiRequest& request, ResponseWriter& writer);

 private:
  class Call;
  struct Route;
  Status Version(Call& call);
  Status DiskUsage(Call& call);
  Status ListImages(Call& call);
  Status ImportImage(Call& call);
  Status ImportRootfs(Call& call);
  Status InspectImage(Call& call);
  Status ImageHistory(Call& call);
  Status TagImage(Call& call);
  Status RemoveImage(Call& call);
  Status ExportImage(Call& call);
  Status ListMounts(Call& call);
  Status Mount(Call& call);
  Status Unmount(Call& call);
  // Containers and volumes (container_routes.cc).
  Status ListContainers(Call& call);
  Status CreateContainer(Call& call);
  Status InspectContainer(Call& call);
  Status RemoveContainer(Call& call);
  Status StartContainer(Call& call);
  Status StartAttached(Call& call, ContainerManager& containers);
  Status StopContainer(Call& call);
  Status RestartContainer(Call& call);
  Status KillContainer(Call& call);
  Status PauseContainer(Call& call);
  Status ResumeContainer(Call& call);
  Status WaitContainer(Call& call);
  Status ContainerLogs(Call& call);
  Status ExecContainer(Call& call);
  Status AttachContainer(Call& call);
  Status ResetContainer(Call& call);
  Status CommitContainer(Call& call);
  Status ListVolumes(Call& call);
  Status CreateVolume(Call& call);
  Status InspectVolume(Call& call);
  Status RemoveVolume(Call& call);
  Result<ContainerManager*> Containers();
  // Registries (registry_routes.cc).
  Status PullImage(Call& call);
  Status PushImage(Call& call);
  Status RegistryLogin(Call& call);
  registry::Registries& Registries();
  // Scheduled jobs (cron_routes.cc).
  Status ListCronJobs(Call& call);
  Status AddCronJob(Call& call);
  Status InspectCronJob(Call& call);
  Status RemoveCronJob(Call& call);
  Status CronJobHistory(Call& call);
  Result<CronScheduler*> Cron();

  Status CheckImageUnused(const std::string& ref);
  // Maintenance (maintenance_routes.cc).
  Status CollectGarbage(Call& call);
  Status CheckStore(Call& call);
  Status ContainerUsage(Call& call);
  Status PruneImages(Call& call);
  Status SquashImage(Call& call);
  Result<GcService*> Gc();

  storage::Store& store_;
  ImageMounts* mounts_;
  ContainerManager* containers_;
  CronScheduler* cron_;
  GcService* gc_;
  registry::Registries* registries_;
};

}  // namespace strata::runtime
