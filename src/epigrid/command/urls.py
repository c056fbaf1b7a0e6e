from django.urls import path

from epigrid.command.views import center
from epigrid.command.views import level as level_views
from epigrid.command.views import video as video_views

app_name = "command"

urlpatterns = [
    path("", center.center, name="center"),
    # video: the camera registry, the player, the demo cameras' picture, consultations (views/video.py)
    path("cameras/", video_views.camera_list, name="camera_list"),
    path("cameras/new/", video_views.camera_new, name="camera_new"),
    path("cameras/<int:pk>/", video_views.camera_player, name="camera_player"),
    path("cameras/<int:pk>/edit/", video_views.camera_edit, name="camera_edit"),
    path("cameras/<int:pk>/deactivate/", video_views.camera_deactivate, name="camera_deactivate"),
    path("cameras/<int:pk>/demo.jpg", video_views.camera_demo_frame, name="camera_demo_frame"),
    path("consultations/new/", video_views.consultation_new, name="consultation_new"),
    # the emergency response level (views/level.py; the panel is command/_response_level.html)
    path("level/", level_views.level_set, name="level_set"),
]
